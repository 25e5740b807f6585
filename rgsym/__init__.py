"""rgsym: the companion package of the book *Symmetry and generalisation in neural
approximations of renormalisation transformations* (after Ashworth, Caso & Lio, arXiv:2510.16591).

The public API is re-exported here; the modules hold the details.
"""
from .config import PROFILES, DEVICES, check_choice, resolve_device, seed_everything, setup_chapter
from .distributions import LAWS, TRAIN_LAWS, get_law, unseen_laws
from .cumulants import moments_to_cumulants, cumulants_to_moments

__version__ = "0.1.0"

__all__ = [
    "PROFILES", "DEVICES", "check_choice", "resolve_device", "seed_everything", "setup_chapter",
    "LAWS", "TRAIN_LAWS", "get_law", "unseen_laws",
    "moments_to_cumulants", "cumulants_to_moments",
]
