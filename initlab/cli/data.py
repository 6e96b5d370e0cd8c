"""``initlab data list|fetch|path``: where the datasets are, and fetching them (issue 5)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import click

from ..datasets import (
    DATASETS,
    ENV_DATA,
    DatasetError,
    Found,
    cache_dir,
    data_dirs,
    fetch,
    find_local,
    get_info,
    load_boston_housing,
    load_fashion_mnist,
    load_imdb,
    load_iris,
    load_mnist,
    load_movie_reviews,
    load_pima,
)

__all__ = ["COMMANDS", "data_group"]

_LOADERS: dict[str, Callable] = {
    "mnist": load_mnist,
    "fashion-mnist": load_fashion_mnist,
    "pima": load_pima,
    "boston-housing": load_boston_housing,
    "iris": load_iris,
    "imdb": load_imdb,
    "movie-reviews": load_movie_reviews,
}


def _where(found: Found) -> str:
    """One folder or file for a found dataset (the common folder of multi-file layouts)."""
    if len(found.files) == 1:
        return str(found.files[0])
    common = Path(os.path.commonpath([str(f) for f in found.files]))
    return f"{common}{os.sep} ({found.kind}: {len(found.files)} files)"


@click.group("data")
def data_group() -> None:
    """The datasets of the labs: where they are looked for, which are present, fetching them.

    \b
    Lookup order: a path given to the loader, then the folder(s) in $INITLAB_DATA, then the
    cache ($XDG_CACHE_HOME/initlab or ~/.cache/initlab), then a download verified by SHA-256.
    \b
    Examples:
      INITLAB_DATA=../shared/datasets initlab data list
      initlab data fetch mnist
      initlab data path mnist
    """


@data_group.command("list")
@click.option("--check", is_flag=True, help="Also read and validate each dataset that is present.")
def list_cmd(check: bool) -> None:
    """List each dataset, whether it is present, and where."""
    env = os.environ.get(ENV_DATA)
    click.echo(f"{ENV_DATA}: {env if env else '(unset)'}")
    click.echo(f"cache: {cache_dir()}")
    for name, info in DATASETS.items():
        try:
            found = find_local(info)
        except DatasetError as exc:  # pragma: no cover - find_local raises only for explicit paths
            click.echo(f"  {name:<15} error    {exc}")
            continue
        if found is None:
            click.echo(f"  {name:<15} missing  expected {info.expected}")
            continue
        status = "present"
        if check:
            try:
                _LOADERS[name](found.files[0] if len(found.files) == 1 else found.files[0].parent, download=False)
            except DatasetError as exc:
                status = f"INVALID ({exc})"
        click.echo(f"  {name:<15} {status:<8} [{found.origin}] {_where(found)}")


@data_group.command("fetch")
@click.argument("names", nargs=-1, required=True, metavar="NAME... | all")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def fetch_cmd(names: tuple[str, ...], quiet: bool) -> None:
    """Download datasets into the cache, verifying each file's SHA-256 (skips datasets already present)."""
    wanted = list(DATASETS) if any(n.lower() == "all" for n in names) else [get_info(n).name for n in names]
    for name in wanted:
        found = find_local(name)
        if found is not None:
            click.echo(f"{name}: already present [{found.origin}] {_where(found)}")
            continue
        found = fetch(name, progress=not quiet)
        click.echo(f"{name}: downloaded and verified into {_where(found)}")


@data_group.command("path")
@click.argument("name", required=False)
def path_cmd(name: str | None) -> None:
    """Print the folders searched, in order ($INITLAB_DATA, then the cache); with NAME, its files."""
    if name is None:
        for d in data_dirs():
            click.echo(str(d))
        click.echo(str(cache_dir()))
        return
    info = get_info(name)
    found = find_local(info)
    if found is None:
        raise DatasetError(f"{info.name} is not present: expected {info.expected} under ${ENV_DATA} or "
                           f"{cache_dir()} (run `initlab data fetch {info.name}`)")
    for f in found.files:
        click.echo(str(f))


@data_group.command("verify")
@click.argument("names", nargs=-1, metavar="[NAME...]")
def verify_cmd(names: tuple[str, ...]) -> None:
    """Check the local dataset files against their known SHA-256 values (all present datasets by default).

    A gzipped file is also checked by the hash of its decompressed contents, so a re-compressed copy
    verifies while a changed byte does not. Exit code 2 if any file's contents are not the known ones.
    """
    from ..datasets.verify import verify_dataset

    wanted = [get_info(n).name for n in names] if names else list(DATASETS)
    bad = 0
    for name in wanted:
        found, checks = verify_dataset(name)
        if found is None:
            click.echo(f"  {name:<15} missing")
            continue
        for c in checks:
            bad += c.status == "MISMATCH"
            click.echo(f"  {name:<15} {c.status:<9} {c.path}: {c.detail}")
    if bad:
        raise DatasetError(f"{bad} file(s) are not the known data (see MISMATCH above)")


COMMANDS = [data_group]
