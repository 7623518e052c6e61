"""Graph passes over jt.fx GraphModules (torch.fx.passes): `shape_prop.ShapeProp`."""
from .shape_prop import ShapeProp, TensorMetadata

__all__ = ["ShapeProp", "TensorMetadata"]
