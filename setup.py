"""The package's run-time data comes from the repository's top-level ``schemas/`` and
``scenarios/``: they are mapped in as the data packages ``simulator.schemas`` and
``simulator.example_scenarios`` (no copy in the tree, so nothing can drift), and the wheel
carries them. Which files ship is in pyproject.toml (package-data); setup.py exists only
because pyproject's package discovery cannot add a package that lives outside ``simulator/``."""

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

DATA_PACKAGES = {"simulator.schemas": "schemas", "simulator.example_scenarios": "scenarios"}


def packages() -> list[str]:
    """``simulator`` and every folder in it, and each data package with its folders
    (schemas/openapi, schemas/crm/vats ...): setuptools ships files only of listed packages,
    and warns of any folder it was not told about."""
    found = find_namespace_packages(include=["simulator", "simulator.*"], exclude=["*.__pycache__"])
    for package, folder in DATA_PACKAGES.items():
        found += [package, *(f"{package}.{sub}" for sub in find_namespace_packages(where=folder, exclude=["*.__pycache__"]))]
    return found


class DataOnlyBuildPy(build_py):
    """No Python modules from the data folders but their ``__init__.py`` (the generators in
    schemas/openapi belong to the repository, not the installation)."""

    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        if package in DATA_PACKAGES:
            return [m for m in modules if m[1] == "__init__"]
        if package.startswith(tuple(f"{p}." for p in DATA_PACKAGES)):
            return []
        return modules


setup(packages=packages(), package_dir=DATA_PACKAGES, cmdclass={"build_py": DataOnlyBuildPy})
