"""Medical imaging data (spine phantoms, NIfTI readers, HealthiVert-GAN samples)."""
from .fracture_dataset import VertebraFractureDataset  # noqa: F401
from .healthivert_dataset import HealthiVertPhantomDataset  # noqa: F401
