"""Forecast wing: forecasts with uncertainty bands (Prophet, LSTM, seasonal naive), backtests, and the
frozen ``ForecastSettings`` that key them.

May import: ``core.detect`` and what it may import.
"""
