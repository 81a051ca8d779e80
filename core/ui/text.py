"""Text that came from a file, made inert for Streamlit's markdown.

``st.markdown``, ``st.error`` / ``st.warning`` / ``st.info`` / ``st.success`` and ``st.caption``
all render their body as markdown, so a column named ``[prize](https://example.com)`` would
become a live link on the page, ``![x](https://...)`` an image fetched from anywhere, ``:red[...]``
coloured text. Every file-derived string (file names, column names, meter ids, example cells, and
the DataError / report messages that quote them) goes through :func:`md_escape` before it reaches
one of those calls.
"""

from __future__ import annotations

import re

__all__ = ["md_escape"]

# Every ASCII punctuation character: CommonMark lets a backslash escape each of them, which turns
# off links, images, emphasis, headings, lists, tables, code, raw HTML, and Streamlit's
# :color[...], :emoji: and $math$ (each starts at punctuation).
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")  # a break would start a new block
# GitHub-flavoured markdown still links bare URLs, www. names and e-mail addresses after their
# punctuation is escaped (it finds them in the rendered text). A word joiner (U+2060: invisible,
# no width) inside each pattern stops that without changing what a reader sees.
_JOINER = "\u2060"
_BARE_LINKS = re.compile(r"(?i)(?<=[a-z]:)(?=//)|(?<=www)(?=\.)|(?<=@)(?=\w)")


def md_escape(text: object) -> str:
    """``text`` as markdown that renders exactly as the characters it holds, on one line."""
    plain = _BARE_LINKS.sub(_JOINER, _LINE_BREAKS.sub(" ", str(text)))
    return _PUNCTUATION.sub(r"\\\1", plain)
