"""Issue 19 item 4: converters are looked up in the CONVERTERS registry, not by getattr on
``zoo.converters`` (which also returned its sub-modules)."""
import io

import pytest
import torch

from zoo.hub import api
from zoo.registry import CONVERTERS

from .helpers import sha256


def test_every_converter_named_by_the_index_is_registered():
    from zoo.hub.index import MODEL_INDEX

    CONVERTERS.import_from_location()  # what a build or a lookup does first
    named = {entry.converter for entry in MODEL_INDEX.values() if entry.converter}
    assert named and named <= set(CONVERTERS.module_dict)
    for name in named:
        assert api.get_converter(name) is CONVERTERS.get(name)


def test_a_module_name_is_not_a_converter():
    # getattr(zoo.converters, 'stgcn') is the sub-module, which the old lookup returned
    with pytest.raises(api.ConverterUnavailableError, match=r"'stgcn' .* not registered in "
                       r"zoo.registry.CONVERTERS \(registered: \['convert_ctrgcn_official'"):
        api.get_converter("stgcn")


def test_a_converter_registered_elsewhere_is_applied_by_the_hub(cache, server, add_entry):
    name = "convert_test_doubling"
    if name not in CONVERTERS.module_dict:
        @CONVERTERS.register_module(name=name)
        def _double(state):
            return {f"zoo.{k}": 2 * v for k, v in state.items()}

    buffer = io.BytesIO()
    torch.save({"w": torch.ones(3)}, buffer)
    url = server.add("/doubling.pth", buffer.getvalue())
    add_entry(name="t_doubling", urls=(url,), sha256=sha256(buffer.getvalue()), converter=name)
    state = api.load_pretrained("t_doubling")
    assert list(state) == ["zoo.w"]
    torch.testing.assert_close(state["zoo.w"], torch.full((3,), 2.0))
    assert api.model_info("t_doubling")["converter_available"] is True
