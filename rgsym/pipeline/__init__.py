"""The book pipeline: execute the jupytext chapters with papermill, keyed on content, and render
their provenance in the built book.

- :mod:`.chapters` finds the chapter sources ``book/NN_name.py`` and reads their parameters cell;
- :mod:`.hashing` computes the input hash (the chapter's code, the code of the rgsym modules it
  imports -- found by :mod:`rgsym.codehash` -- requirements, parameters) that decides whether an
  executed notebook can be reused; a prose-only edit refreshes the narrative without executing;
- :mod:`.run` executes chapters (``python -m rgsym.pipeline run``);
- :mod:`.sphinx_ext` is the Sphinx extension that shows each chapter's provenance, warns visibly
  when its sources changed since execution, and fails the build on failed chapters or warnings.
"""
from .chapters import Chapter, find_chapters, repo_root
from .hashing import input_hash, sources_hash
from .run import run_chapters, execute_chapter

__all__ = ["Chapter", "find_chapters", "repo_root", "input_hash", "sources_hash", "run_chapters", "execute_chapter"]
