//! The signed-in user's own account: who they are, and changing their password.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::auth::ChangePassword;
use crate::components::outcome::outcome;
use crate::model::CurrentUser;

#[component]
pub fn AccountPage() -> impl IntoView {
    let me = use_context::<CurrentUser>();
    let change = ServerAction::<ChangePassword>::new();
    // Passwords do not linger in the form once changed.
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if change.value().with(|v| matches!(v, Some(Ok(())))) {
            if let Some(form) = form.get() {
                form.reset();
            }
        }
    });
    let (name, role) = me.map(|u| (u.name, u.role.as_str())).unwrap_or_default();
    view! {
        <Title text="Your account · ipvet"/>
        <h1>"Your account"</h1>
        <dl class="fields account">
            <dt>"User name"</dt>
            <dd data-testid="account-name">{name}</dd>
            <dt>"Role"</dt>
            <dd>{role}</dd>
        </dl>
        <section class="card change-password">
            <h2>"Change your password"</h2>
            <p class="muted hint">
                "Every other session of yours ends: anywhere else you are signed in asks for the new password. This one stays signed in. Your "
                <a href="/tokens">"API tokens"</a>
                " keep working; revoke any you no longer trust."
            </p>
            {outcome(change.value(), "Password changed. Your other sessions have ended.")}
            <ActionForm action=change node_ref=form>
                <label>
                    "Current password"
                    <input type="password" name="current_password" autocomplete="current-password" required maxlength="1024"/>
                </label>
                <label>
                    "New password"
                    <input type="password" name="new_password" autocomplete="new-password" required minlength="12" maxlength="1024"/>
                </label>
                <label>
                    "New password again"
                    <input type="password" name="repeat_password" autocomplete="new-password" required minlength="12" maxlength="1024"/>
                </label>
                <button type="submit">"Change password"</button>
            </ActionForm>
            <p class="muted hint">"At least 12 characters. A long phrase is easier to remember than a short jumble."</p>
        </section>
    }
}
