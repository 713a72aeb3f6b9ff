"""The Usuários page (admins): who can sign in, with which role; add people with a temporary
password shown once, change roles, deactivate, reset passwords, end sessions."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.auth.admin import AccountAdmin, AccountRow
from lib.models import ROLES
from lib.presentation import ROLE_LABELS, escape_markdown, format_datetime
from lib.ui import session

SHOWN_PASSWORD_KEY = "shown_temporary_password"  # (email, password) until the admin closes it


def account_admin() -> AccountAdmin:
    context = session.context()
    return AccountAdmin(context.accounts, context.sessions, session.current_user())


def users_page() -> None:
    admin = account_admin()
    temporary_password_box()
    add_user_form(admin)
    with session.user_errors() as failed:
        rows = admin.list()
    if failed:
        return
    st.subheader("Usuários")
    st.dataframe(users_table(rows), hide_index=True, width="stretch")
    manage_user(admin, rows)


def users_table(rows: list[AccountRow]) -> pd.DataFrame:
    return pd.DataFrame([
        {
            "E-mail": r.account.email,
            "Papel": ROLE_LABELS[r.account.role],
            "Ativo": "sim" if r.account.active else "não",
            "Criado em": format_datetime(r.account.created_at),
            "Último acesso": format_datetime(r.account.last_login_at) if r.account.last_login_at else "",
            "Sessões abertas": r.open_sessions,
            "Senha": "temporária" if r.account.must_change_password else ("própria" if r.account.has_password else "só SSO"),
        }
        for r in rows
    ])


def temporary_password_box() -> None:
    shown = st.session_state.get(SHOWN_PASSWORD_KEY)
    if shown is None:
        return
    email, password = shown
    with st.container(border=True):
        st.success(f"Senha temporária de {escape_markdown(email)}: mostrada só agora. Passe-a à pessoa; "
                   "ela definirá a própria senha ao entrar.", icon="🔑")
        st.code(password, language=None)
        if st.button("Já copiei", key="close_temporary_password"):
            st.session_state.pop(SHOWN_PASSWORD_KEY)
            st.rerun()


def add_user_form(admin: AccountAdmin) -> None:
    with st.form("add_user", enter_to_submit=False, clear_on_submit=True):
        st.subheader("Adicionar usuário")
        left, right = st.columns([2, 1])
        email = left.text_input("E-mail", max_chars=254)
        role = right.selectbox("Papel", ROLES, index=ROLES.index("analyst"), format_func=ROLE_LABELS.get)
        sso_only = False
        if session.context().settings.sso is not None:
            sso_only = st.checkbox("Só pelo provedor (sem senha)",
                                   help="A pessoa entra apenas com o botão \"Entrar com …\" da página de login.")
        submitted = st.form_submit_button("Adicionar", type="primary")
    if submitted and sso_only:
        with session.user_errors("Adicionando…") as failed:
            user = admin.add_without_password(email, role)
        if not failed:
            session.flash(escape_markdown(f"{user.email} adicionado: entra pelo provedor."))
            st.rerun()
    elif submitted:
        with session.user_errors("Adicionando…") as failed:
            user, password = admin.add(email, role)
        if not failed:
            st.session_state[SHOWN_PASSWORD_KEY] = (user.email, password)
            st.rerun()


def manage_user(admin: AccountAdmin, rows: list[AccountRow]) -> None:
    st.subheader("Alterar um usuário")
    by_email = {r.account.email: r.account for r in rows}
    email = st.selectbox("Usuário", list(by_email), key="managed_user")
    if email is None:
        return
    account = by_email[email]
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    role = left.selectbox("Papel", ROLES, index=ROLES.index(account.role), format_func=ROLE_LABELS.get,
                          key=f"role-{account.id}")
    actions = right.container(horizontal=True)
    if actions.button("Salvar papel", disabled=role == account.role, key="save_role"):
        _act(lambda: admin.set_role(account.id, role), f"Papel de {email} alterado.")
    if account.active:
        if actions.button("Desativar", type="primary", key="deactivate", help="Encerra as sessões da pessoa"):
            _act(lambda: admin.set_active(account.id, False), f"{email} desativado.")
    elif actions.button("Reativar", key="reactivate"):
        _act(lambda: admin.set_active(account.id, True), f"{email} reativado.")
    if account.has_password and actions.button("Redefinir senha", key="reset_password"):
        with session.user_errors("Redefinindo…") as failed:
            password = admin.reset_password(account.id)
        if not failed:
            st.session_state[SHOWN_PASSWORD_KEY] = (email, password)
            st.rerun()
    if actions.button("Encerrar sessões", key="end_sessions"):
        _act(lambda: admin.end_sessions(account.id), f"Sessões de {email} encerradas.")


def _act(change, done: str) -> None:
    with session.user_errors("Salvando…") as failed:
        change()
    if not failed:
        session.flash(escape_markdown(done))
        st.rerun()
