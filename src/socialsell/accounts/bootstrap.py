"""Creating users outside a request: the CLI and the demo seed."""

from __future__ import annotations

from pydantic import ValidationError

from socialsell.accounts import service
from socialsell.accounts.repository import AccountsRepository
from socialsell.accounts.schemas import RegisterIn
from socialsell.db import create_engine, create_sessionmaker, unit_of_work
from socialsell.settings import Settings


async def create_user_account(
    settings: Settings, *, email: str, name: str, password: str, if_missing: bool = False
) -> bool:
    """Create the user and their workspace; False if ``if_missing`` and they already exist."""
    try:
        data = RegisterIn(email=email, name=name, password=password)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(problems) from exc
    engine = create_engine(settings.db_url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            if if_missing and await AccountsRepository(session).user_by_email(email):
                return False
            await service.register(session, data)
            return True
    finally:
        await engine.dispose()
