"""The typing stub of Tensor's methods is generated from the method table and kept in sync with it."""
from lamina import Tensor
from lamina.ops import methods


def test_stub_matches_the_method_table():
    on_disk = methods.STUB_PATH.read_text(encoding="utf-8")
    assert on_disk == methods.render_stub(), (
        "src/lamina/_tensor_methods.pyi is out of date: run "
        "python -c \"from lamina.ops.methods import write_stub; write_stub()\"")


def test_every_table_entry_is_a_tensor_method():
    for name in {**methods.OPERATORS, **methods.METHODS, **methods.PROPERTIES}:
        assert hasattr(Tensor, name), name


def test_stub_declares_each_method_once():
    lines = [ln.strip() for ln in methods.render_stub().splitlines() if ln.strip().startswith("def ")]
    names = [ln.split("(")[0][4:] for ln in lines]
    assert len(names) == len(set(names))
    assert {"exp", "reshape", "__matmul__", "backward", "T"} <= set(names)
