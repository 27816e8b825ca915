"""Medical imaging models (HealthiVert-GAN, fracture classifier); importing registers them."""
from .healthivert_gan import HealthiVertGAN  # noqa: F401
from .fracture_classifier import VertebraFractureClassifier  # noqa: F401
