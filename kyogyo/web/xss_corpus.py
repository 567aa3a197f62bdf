"""A corpus of stored-XSS payloads for the tests: markup that would run script, load
something, restyle the page, or drive htmx if it were ever rendered as HTML instead of
text. Every payload that would create an element carries ``data-xss``, so a test can ask
the browser whether any such element exists; the script in them sets ``window.__xss``.

Built from vectors × wrappers (a few hundred payloads), deterministic."""

from __future__ import annotations

from itertools import product

VECTORS = (
    "<script data-xss>window.__xss=1</script>",
    '<img data-xss src=x onerror="window.__xss=1">',
    "<svg data-xss onload=window.__xss=1>",
    '<iframe data-xss src="javascript:window.__xss=1"></iframe>',
    '<a data-xss href="javascript:window.__xss=1">click</a>',
    '<div data-xss hx-get="/logout/" hx-trigger="load">htmx</div>',
    '<div data-xss hx-post="/language/" hx-vals=\'{"language":"en"}\' hx-trigger="load"></div>',
    '<form data-xss action="/logout/" method="post"><button>x</button></form>',
    '<input data-xss autofocus onfocus="window.__xss=1">',
    '<details data-xss open ontoggle="window.__xss=1">',
    '<body data-xss onload="window.__xss=1">',
    "<style data-xss>body{display:none}</style>",
    '<link data-xss rel=stylesheet href="//evil.example/x.css">',
    '<meta data-xss http-equiv="refresh" content="0;url=//evil.example">',
    '<object data-xss data="javascript:window.__xss=1"></object>',
    '<embed data-xss src="javascript:window.__xss=1">',
    "<math data-xss><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
    "<template data-xss><script>window.__xss=1</script></template>",
    '<video data-xss><source onerror="window.__xss=1"></video>',
    '<marquee data-xss onstart="window.__xss=1">m</marquee>',
    '<base data-xss href="//evil.example/">',
    '<script data-xss src="//evil.example/x.js"></script>',
    '<img data-xss src="x" onerror=&#x77;indow.__xss=1>',
    "<scr<script>ipt data-xss>window.__xss=1</scr</script>ipt>",
    '<svg data-xss><animate onbegin="window.__xss=1" attributeName=x dur=1s>',
    '<div data-xss style="background:url(javascript:window.__xss=1)">s</div>',
    '<select data-xss autofocus onfocus="window.__xss=1"></select>',
    '<textarea data-xss autofocus onfocus="window.__xss=1"></textarea>',
    '<button data-xss formaction="javascript:window.__xss=1">b</button>',
    "<isindex data-xss type=image src=1 onerror=window.__xss=1>",
)

# How the vector sits in a stored value: alone, after closing an attribute or an element
# the template might have put it in, inside template syntax, padded, repeated.
WRAPPERS = (
    "{v}",
    '">{v}',
    "'>{v}",
    "</td>{v}",
    "</textarea>{v}",
    "</title>{v}",
    "</script>{v}",
    "-->{v}",
    "Yamada {v} Taro",
    "{{{{7*7}}}}{v}",
    "{{% debug %}}{v}",
    "\u3000{v}\u3000",
)


def payloads() -> list[str]:
    return [wrapper.format(v=vector) for vector, wrapper in product(VECTORS, WRAPPERS)]


MARKER_CHECK = """
() => ({
  elements: document.querySelectorAll('[data-xss]').length,
  ran: window.__xss === 1,
})
"""


def unescaped_markup(html: str) -> list[str]:
    """Tags from the corpus that reached the page as markup (they should all be text)."""
    import re

    return re.findall(r"<[a-zA-Z][^<>]*\bdata-xss\b[^<>]*>", html)
