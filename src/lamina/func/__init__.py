"""Function transforms with ``torch.func``'s conventions: vmap, grad, grad_and_value, vjp, jvp, jacrev,
jacfwd, jacobian, hessian, hvp, functional_call.

``transforms.py`` holds the derivative transforms, ``vmap.py`` the batching transform, ``batched.py``
the batched tensor it passes to the function and ``batching.py`` the batching rules of the ops.
"""
from .functional_call import functional_call
from .transforms import grad, grad_and_value, hessian, hvp, jacfwd, jacobian, jacrev, jvp, vjp
from .vmap import vmap

__all__ = ["vmap", "grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "jacobian", "hessian", "hvp",
           "functional_call"]
