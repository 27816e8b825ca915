"""zoo.engine.config_format: yapf runs once per config text, and the text is unchanged."""
import mmengine.config.config as config_module
from mmengine.config import Config

from zoo.engine.config_format import _memoised, install_config_format_cache


def test_pretty_text_is_formatted_once_and_unchanged(monkeypatch):
    calls = []
    original = config_module.FormatCode

    def counting(text, *args, **kwargs):
        calls.append(text)
        return original(text, *args, **kwargs)

    monkeypatch.setattr(config_module, "FormatCode", counting)
    cfg = Config(dict(model=dict(type="SmallCNN", channels=[8, 16]), lr=0.1, name="digits"))
    expected = cfg.pretty_text
    assert len(calls) == 1
    install_config_format_cache()
    install_config_format_cache()  # idempotent: one layer of memoisation
    assert getattr(config_module.FormatCode, "__wrapped__", None) is counting
    texts = [cfg.pretty_text for _ in range(4)]
    assert texts == [expected] * 4 and len(calls) == 2  # one miss, then hits
    cfg.lr = 0.2  # new content: formatted again
    assert "lr = 0.2" in cfg.pretty_text and len(calls) == 3


def test_memo_is_bounded_and_keyed_by_the_arguments():
    seen = []
    fmt = _memoised(lambda text, style=None: seen.append((text, style)) or (text.upper(), True))
    assert fmt("a", style="pep8") == ("A", True) and fmt("a", style="google") == ("A", True)
    assert len(seen) == 2
    for i in range(40):
        fmt(f"t{i}")
    fmt("a", style="pep8")  # evicted long ago: formatted again
    assert len(seen) == 43
