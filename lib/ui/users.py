"""The Usuários page (admins).

Embedded default (accounts_page, lib.auth.admin.AccountAdmin): who can sign in, with which role;
add people with a temporary password shown once, change roles, deactivate, reset passwords, end
sessions.

Supabase mode (roles_page, lib.auth.admin.SupabaseRoleAdmin): who holds a role; give a role by e-mail to someone who has a
Supabase account, change it, remove it (after a confirmation), and, when the server has the
service-role key, invite someone by e-mail. The database checks the admin on every call."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from lib.auth.admin import AccountAdmin, AccountRow, SupabaseRoleAdmin
from lib.models import ROLES
from lib.presentation import ROLE_LABELS, escape_markdown, format_datetime
from lib.ui import feedback, signed_in

if TYPE_CHECKING:
    from lib.auth.admin import RoleHolder

SHOWN_PASSWORD_KEY = "shown_temporary_password"  # (email, password) until the admin closes it
PENDING_ACTION_KEY = "pending_user_action"  # (user_id, action) awaiting confirmation
CONFIRMATIONS = {  # action: (question, confirm button)
    "deactivate": ("Desativar {email}? A pessoa sai de todas as sessões e não entra mais até ser reativada.",
                   "Desativar"),
    "reset_password": ("Redefinir a senha de {email}? A senha atual deixa de valer e as sessões da pessoa são "
                       "encerradas; a nova senha temporária aparece uma vez.", "Redefinir senha"),
    "end_sessions": ("Encerrar todas as sessões de {email}? A pessoa precisará entrar de novo.", "Encerrar sessões"),
    "revoke": ("Remover o acesso de {email}? A conta no Supabase continua, mas a pessoa não verá mais nada aqui "
               "até receber um papel de novo.", "Confirmar remoção"),
}


def users_page() -> None:
    """The page for this configuration's accounts, managed as the signed-in admin."""
    admin = signed_in.user_admin()
    if isinstance(admin, AccountAdmin):
        accounts_page(admin)
    else:
        roles_page(admin)


def accounts_page(admin: AccountAdmin) -> None:
    temporary_password_box()
    add_user_form(admin)
    with feedback.user_errors() as failed:
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
            "Senha": _password_kind(r.account),
        }
        for r in rows
    ])


def _password_kind(account) -> str:
    if not account.has_password:
        return "sem senha: entra pelo provedor"
    return "temporária" if account.must_change_password else "definida pela pessoa"


def temporary_password_box() -> None:
    shown = st.session_state.get(SHOWN_PASSWORD_KEY)
    if shown is None:
        return
    email, password = shown
    with st.container(border=True):
        st.success(f"Senha temporária de {escape_markdown(email)}: mostrada só agora. Passe-a à pessoa; "
                   "ela definirá a própria senha ao entrar.", icon=":material/key:")
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
        if signed_in.signin().provider_configured:
            sso_only = st.checkbox("Só pelo provedor (sem senha)",
                                   help="A pessoa entra apenas com o botão \"Entrar com …\" da página de login.")
        submitted = st.form_submit_button("Adicionar", type="primary")
    if submitted and sso_only:
        with feedback.user_errors("Adicionando…") as failed:
            user = admin.add_without_password(email, role)
        if not failed:
            feedback.flash(escape_markdown(f"{user.email} adicionado: entra pelo provedor."))
            st.rerun()
    elif submitted:
        with feedback.user_errors("Adicionando…") as failed:
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
    pending = _pending_action(account.id)
    left, right = _choice_row(pending)
    role = left.selectbox("Papel", ROLES, index=ROLES.index(account.role), format_func=ROLE_LABELS.get,
                          key=f"role-{account.id}")
    if pending is not None:
        with right:
            if _confirmed(pending, email):
                do_account_action(admin, account, pending)
        return
    actions = right.container(horizontal=True)
    if actions.button("Salvar papel", disabled=role == account.role, key="save_role"):
        _act(lambda: admin.set_role(account.id, role), f"Papel de {email} alterado.")
    if account.active:
        if actions.button("Desativar", key="deactivate", help="Encerra as sessões da pessoa"):
            _ask(account.id, "deactivate")
    elif actions.button("Reativar", key="reactivate"):
        _act(lambda: admin.set_active(account.id, True), f"{email} reativado.")
    if account.has_password and actions.button("Redefinir senha", key="reset_password"):
        _ask(account.id, "reset_password")
    if actions.button("Encerrar sessões", key="end_sessions"):
        _ask(account.id, "end_sessions")


def _choice_row(pending: str | None):
    """The role on the left; on the right the actions, or, once one that throws someone out was
    clicked, its question in their place (beside the choice, where the eye already is)."""
    return st.columns([1, 2], vertical_alignment="top" if pending else "bottom")


def _pending_action(user_id: str) -> str | None:
    """The action on this user awaiting confirmation; one asked for another user is dropped."""
    pending = st.session_state.get(PENDING_ACTION_KEY)
    if pending is not None and pending[0] != user_id:  # another user chosen meanwhile
        st.session_state.pop(PENDING_ACTION_KEY)
        return None
    return pending[1] if pending else None


def _ask(user_id: str, action: str) -> None:
    st.session_state[PENDING_ACTION_KEY] = (user_id, action)
    st.rerun()


def _confirmed(action: str, email: str) -> bool:
    """Actions that throw someone out are asked once more, in red: True once confirmed."""
    question, label = CONFIRMATIONS[action]
    with st.container(border=True):
        st.warning(question.format(email=escape_markdown(email)), icon=":material/warning:")
        confirm, cancel = st.columns(2)
        if confirm.button(label, type="primary", key=f"danger-confirm-{action}"):
            st.session_state.pop(PENDING_ACTION_KEY, None)
            return True
        if cancel.button("Cancelar", key=f"cancel-{action}"):
            st.session_state.pop(PENDING_ACTION_KEY, None)
            st.rerun()
    return False


def do_account_action(admin: AccountAdmin, account, action: str) -> None:
    """Desativar, Redefinir senha or Encerrar sessões, once confirmed."""
    email = account.email
    if action == "deactivate":
        _act(lambda: admin.set_active(account.id, False), f"{email} desativado.")
    elif action == "end_sessions":
        _act(lambda: admin.end_sessions(account.id), f"Sessões de {email} encerradas.")
    else:
        with feedback.user_errors("Redefinindo…") as failed:
            password = admin.reset_password(account.id)
        if not failed:
            st.session_state[SHOWN_PASSWORD_KEY] = (email, password)
            st.rerun()


def _act(change, done: str) -> None:
    with feedback.user_errors("Salvando…") as failed:
        change()
    if not failed:
        feedback.flash(escape_markdown(done))
        st.rerun()


# --- Supabase mode ----------------------------------------------------------------------------


def roles_page(admin: SupabaseRoleAdmin) -> None:
    """Through the admin's own Supabase client; invitations through the server's store, only when
    the service-role key is configured."""
    if admin.can_invite:
        invite_form(admin)
    grant_form(admin)
    with feedback.user_errors("Carregando usuários…") as failed:
        holders = admin.holders()
    if failed:
        return
    st.subheader("Quem tem papel")
    st.dataframe(holders_table(holders), hide_index=True, width="stretch")
    manage_holder(admin, holders)


def holders_table(holders: list[RoleHolder]) -> pd.DataFrame:
    return pd.DataFrame([
        {
            "E-mail": h.email,
            "Papel": ROLE_LABELS[h.role],
            "Criado em": format_datetime(h.created_at) if h.created_at else "",
            "Último acesso": format_datetime(h.last_sign_in_at) if h.last_sign_in_at else "",
        }
        for h in holders
    ], columns=["E-mail", "Papel", "Criado em", "Último acesso"])


def invite_form(admin: SupabaseRoleAdmin) -> None:
    with st.form("supabase_invite", enter_to_submit=False, clear_on_submit=True):
        st.subheader("Convidar")
        st.caption("Envia o convite do Supabase por e-mail e dá o papel escolhido.")
        left, right = st.columns([2, 1])
        email = left.text_input("E-mail", max_chars=254, key="invite_email")
        role = right.selectbox("Papel", ROLES, index=ROLES.index("analyst"), format_func=ROLE_LABELS.get,
                               key="invite_role")
        submitted = st.form_submit_button("Convidar", type="primary")
    if submitted:
        with feedback.user_errors("Enviando convite…") as failed:
            sent = admin.invite(email, role)
        if not failed:
            shown, label = email.strip(), ROLE_LABELS[role]
            feedback.flash(escape_markdown(
                f"Convite enviado para {shown}, com o papel {label}." if sent
                else f"{shown} já tinha conta no Supabase: nenhum convite enviado; papel {label} dado."
            ))
            st.rerun()


def grant_form(admin: SupabaseRoleAdmin) -> None:
    with st.form("supabase_grant", enter_to_submit=False, clear_on_submit=True):
        st.subheader("Dar papel")
        st.caption("A pessoa precisa já ter conta no Supabase (convite ou cadastro)." if admin.can_invite else
                   "A pessoa precisa já ter conta no Supabase: crie-a no painel do Supabase (Authentication → "
                   "Users). Para convidar daqui, configure SUPABASE_SERVICE_ROLE_KEY no servidor.")
        left, right = st.columns([2, 1])
        email = left.text_input("E-mail", max_chars=254, key="grant_email")
        role = right.selectbox("Papel", ROLES, index=ROLES.index("analyst"), format_func=ROLE_LABELS.get,
                               key="grant_role_choice")
        submitted = st.form_submit_button("Dar papel", type="primary")
    if submitted:
        _act(lambda: admin.grant(email, role), f"{email.strip()}: papel {ROLE_LABELS[role]}.")


def manage_holder(admin: SupabaseRoleAdmin, holders: list[RoleHolder]) -> None:
    if not holders:
        return
    st.subheader("Alterar um papel")
    by_email = {h.email: h for h in holders}
    email = st.selectbox("Usuário", list(by_email), key="supabase_managed_user")
    if email is None:
        return
    holder = by_email[email]
    pending = _pending_action(holder.user_id)
    left, right = _choice_row(pending)
    role = left.selectbox("Papel", ROLES, index=ROLES.index(holder.role), format_func=ROLE_LABELS.get,
                          key=f"supabase-role-{holder.user_id}")
    if pending is not None:
        with right:
            if _confirmed(pending, email):
                _act(lambda: admin.revoke(holder.user_id), f"Acesso de {email} removido.")
        return
    actions = right.container(horizontal=True)
    if actions.button("Salvar papel", disabled=role == holder.role, key="supabase_save_role"):
        _act(lambda: admin.grant(email, role), f"Papel de {email}: {ROLE_LABELS[role]}.")
    if actions.button("Remover acesso", key="supabase_revoke"):
        _ask(holder.user_id, "revoke")
