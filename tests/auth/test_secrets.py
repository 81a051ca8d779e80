"""core.auth.secrets: seal / unseal round trips, the key file, a changed key, URL masking."""

from __future__ import annotations

import os
import stat

import pytest
from cryptography.fernet import Fernet

from core.auth import secrets
from core.auth.secrets import SecretKeyError, mask_url, seal, unseal


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path))
    monkeypatch.delenv("WATTSUP_SECRET_KEY", raising=False)
    return tmp_path


def test_round_trip_and_ciphertext_hides_text(home):
    """A sealed value opens to the same text and does not contain it."""
    token = seal("smtp-password-Ünïcode")
    assert "smtp-password" not in token
    assert unseal(token) == "smtp-password-Ünïcode"
    assert seal("x") != seal("x")  # fresh IV every time


def test_key_file_created_once_with_mode_0600(home):
    """Without WATTSUP_SECRET_KEY the key file is made on first use, private, and then reused."""
    token = seal("a")
    path = home / "secret.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    first = path.read_text()
    assert unseal(token) == "a" and path.read_text() == first


def test_changed_key_is_one_clear_line(home, monkeypatch):
    """A token sealed with another key fails with a SecretKeyError that says the key changed."""
    token = seal("webhook")
    monkeypatch.setenv("WATTSUP_SECRET_KEY", Fernet.generate_key().decode())
    with pytest.raises(SecretKeyError, match="key changed") as err:
        unseal(token)
    assert "\n" not in str(err.value) and "webhook" not in str(err.value)
    with pytest.raises(SecretKeyError):
        unseal(token[:-4] + "AAAA")


def test_env_key_wins_and_rotates(home, monkeypatch):
    """WATTSUP_SECRET_KEY seals with its first key and opens with any listed one."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("WATTSUP_SECRET_KEY", old)
    token = seal("t")
    assert not (home / "secret.key").exists()
    monkeypatch.setenv("WATTSUP_SECRET_KEY", f"{new},{old}")
    assert unseal(token) == "t"
    monkeypatch.setenv("WATTSUP_SECRET_KEY", "not-a-key")
    with pytest.raises(SecretKeyError, match="not a Fernet key"):
        seal("t")


def test_key_path_follows_home(home):
    assert secrets.key_path() == home / "secret.key"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "https://user:pw@hooks.example.com/services/T0/B0/XYZ?token=abc&x=1",
            "https://***:***@hooks.example.com/***?token=***&x=***",
        ),
        ("mailto://bob:hunter2@gmail.com", "mailto://***:***@gmail.com"),
        ("tgram://123456:ABC-secret/chat", "tgram://***/***"),
        ("https://example.com:8443/", "https://example.com:8443"),
        ("json://localhost/path?abc123secret", "json://localhost/***?***"),
        ("not a url", "***"),
        ("http://[::1]:9/x#frag", "http://[::1]:9/***#***"),
    ],
)
def test_mask_url(url, masked):
    """Only scheme, host name and port survive; secrets never appear in the masked form."""
    assert mask_url(url) == masked
    for secret in ("pw", "XYZ", "abc", "hunter2", "ABC-secret", "abc123secret", "frag"):
        if secret in url:
            assert secret not in mask_url(url).replace("***", "")
