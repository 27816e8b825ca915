"""Medical imaging models (HealthiVert-GAN, fracture classifier); importing registers them."""
from .fracture_classifier import VertebraFractureClassifier  # noqa: F401
from .healthivert_gan import HealthiVertGAN  # noqa: F401
