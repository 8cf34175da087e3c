# The single source of the version: pyproject.toml reads it (scikit-build-core regex provider)
# and CMake receives it from scikit-build-core as SKBUILD_PROJECT_VERSION.
__version__ = "0.1.0"
