"""Global autodiff switches, kept in one tiny module that imports nothing.

``grad_enabled``: reverse mode records a graph (``no_grad`` turns it off).
``fw_level``: >0 while a forward-mode (dual number) computation is active, so ops
only look for tangents when someone asked for them.
"""
grad_enabled = True
fw_level = 0
