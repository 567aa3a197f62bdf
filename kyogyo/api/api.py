"""The caller and their API tokens."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kyogyo.api import actions
from kyogyo.api.auth import user_of
from kyogyo.api.errors import errors, not_found
from kyogyo.api.models import ApiToken
from kyogyo.api.pagination import PageParams, page_of, paginate
from kyogyo.api.params import BodyId, Input, RecordId
from kyogyo.org import access
from kyogyo.org.models import User

router = Router(tags=["me and tokens"])


class MeOut(Schema):
    id: int
    username: str
    team: str | None
    role: str
    token_scope: str


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scope: str
    user: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenIn(Input):
    name: str = Field(..., min_length=1, max_length=100)
    scope: ApiToken.Scope = ApiToken.Scope.READ
    user_id: BodyId | None = Field(None, description="another user's id (admins only)")


class NewTokenOut(TokenOut):
    token: str = Field(..., description="the token itself: shown this once, never again")


def token_out(token: ApiToken) -> dict:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "scope": token.scope,
        "user": token.user.get_username(),
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


@router.get("/me", response={200: MeOut, **errors()}, summary="Who the token acts as")
def me(request: HttpRequest):
    user = user_of(request)
    return {
        "id": user.pk,
        "username": user.get_username(),
        "team": user.team.key if user.team else None,
        "role": user.role,
        "token_scope": request.auth.scope,  # type: ignore[attr-defined]
    }


def _visible_tokens(user: User):
    tokens = ApiToken.objects.select_related("user")
    return tokens if access.is_admin(user) else tokens.filter(user=user)


@router.get(
    "/tokens", response={200: page_of(TokenOut), **errors()}, summary="Your tokens (admins: everyone's)"
)
def list_tokens(request: HttpRequest, page: Query[PageParams]):
    return paginate(_visible_tokens(user_of(request)), page, token_out)


@router.post("/tokens", response={201: NewTokenOut, **errors(404)}, summary="Create a token")
def create_token(request: HttpRequest, payload: TokenIn):
    actor = user_of(request)
    owner = actor
    if payload.user_id is not None and payload.user_id != actor.pk:
        owner = User.objects.filter(pk=payload.user_id, is_active=True).first()
        if owner is None or not access.is_admin(actor):
            raise not_found("user")
    token, plain = actions.create_token(owner, name=payload.name, scope=payload.scope, actor=actor)
    return Status(201, {**token_out(token), "token": plain})


@router.delete("/tokens/{int:token_id}", response={200: TokenOut, **errors(404)}, summary="Revoke a token")
def revoke_token(request: HttpRequest, token_id: RecordId):
    token = _visible_tokens(user_of(request)).filter(pk=token_id).first()
    if token is None:
        raise not_found("token")
    return token_out(actions.revoke_token(token, actor=user_of(request)))
