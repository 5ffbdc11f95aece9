"""CP-VTON virtual try-on: GMM (TPS warp) + TOM (U-Net rendering), person representation from one photo via
MediaPipe. See README.md."""
from .errors import InputError, ModelLoadError, VtonError
from .gmm import GMM, GMMConfig
from .pipeline import TryOnPipeline, TryOnResult
from .tom import TOM, TOMConfig

__all__ = ["GMM", "GMMConfig", "TOM", "TOMConfig", "TryOnPipeline", "TryOnResult", "InputError", "ModelLoadError",
           "VtonError"]
