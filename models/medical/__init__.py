"""Medical imaging models (HealthiVert-GAN); importing registers them."""
from .healthivert_gan import HealthiVertGAN  # noqa: F401
