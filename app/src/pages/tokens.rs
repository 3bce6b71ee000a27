//! API tokens: make one (its secret is shown once), see when each was last used, revoke.
//! Admins see everyone's and make tokens for any user.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::tokens::{list_tokens, CreateToken, RevokeToken};
use crate::api::users::list_users;
use crate::components::confirm::Confirm;
use crate::components::outcome::outcome;
use crate::components::role::current_role;
use crate::components::when::When;
use crate::model::{Role, TokenView};

#[component]
pub fn TokensPage() -> impl IntoView {
    let admin = current_role() >= Role::Admin;
    // Set once the page's script runs (effects run only in the browser).
    let scripted = RwSignal::new(false);
    Effect::new(move |_| scripted.set(true));
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        move |_| list_tokens(Some(admin)),
    );
    let users = Resource::new(
        || (),
        move |_| async move {
            if admin {
                list_users().await.unwrap_or_default()
            } else {
                Vec::new()
            }
        },
    );
    let secret = move || {
        create.value().with(|v| match v {
            Some(Ok(made)) => Some(view! {
                <section class="card secret" role="status">
                    <h2>{format!("Token “{}” for {}", made.token.name, made.token.owner)}</h2>
                    <p>"Copy the secret now: it is shown this once and ipvet keeps only its hash."</p>
                    <p><code class="secret-value" data-secret="">{made.secret.clone()}</code></p>
                    <p class="muted">"Send it as " <code>"Authorization: Bearer <secret>"</code> "."</p>
                </section>
            }),
            _ => None,
        })
    };
    let row = move |t: TokenView| {
        let id = t.id;
        let live = t.revoked_at.is_none();
        let label = format!("Revoke {}", t.name);
        view! {
            <tr data-token=t.name.clone()>
                <td>{t.name.clone()}</td>
                {admin.then(|| view! { <td>{t.owner.clone()}</td> })}
                <td>{t.role.as_str()}</td>
                <td class="when"><When at=t.created_at.clone()/></td>
                <td class="when"><When at=t.last_used_at.clone().unwrap_or_else(|| "never".into())/></td>
                <td>{match &t.revoked_at {
                    Some(at) => format!("revoked {at}"),
                    None => "live".into(),
                }}</td>
                <td>
                    {live.then(|| view! {
                        <Confirm
                            label="Revoke"
                            question=format!(
                                "Revoke the token “{}”? Every client that sends it is refused from then on; this cannot be undone.",
                                t.name,
                            )
                        >
                            <ActionForm action=revoke>
                                <input type="hidden" name="token_id" value=id.to_string()/>
                                <button type="submit">{label.clone()}</button>
                            </ActionForm>
                        </Confirm>
                    })}
                </td>
            </tr>
        }
    };
    view! {
        <Title text="API tokens · ipvet"/>
        <h1>"API tokens"</h1>
        <p class="muted">
            "A token lets a program use the " <a href="/api">"REST API"</a>
            " with its owner's role. Make one per program, so each can be revoked alone."
        </p>
        {outcome(revoke.value(), "Token revoked.")}
        {move || create.value().with(|v| match v {
            Some(Err(e)) => Some(view! { <p class="error" role="alert">{e.to_string()}</p> }),
            _ => None,
        })}
        {secret}
        <section class="card">
            <h2>"Make a token"</h2>
            // Said until the page's script runs (not a <noscript>, which a browser with
            // script execution turned off by policy may not draw).
            <p class="notice needs-script" hidden=move || scripted.get()>
                "Making a token needs JavaScript: its secret is shown once, on this page."
                {admin.then(|| view! { " On the server, " <code>"ipvet token create USER --name NAME"</code> " makes one too." })}
            </p>
            // Drawn hidden and shown once the page's script runs: without JavaScript the
            // form could make a token whose secret nobody would ever see.
            <ActionForm action=create attr:hidden=move || !scripted.get() attr:class="make-token">
                <label>"Name" <input type="text" name="name" required maxlength="100" autocomplete="off" placeholder="billing, panel-2"/></label>
                {admin.then(|| view! {
                    <label>
                        "For"
                        <Transition fallback=|| view! { <select name="user_id" disabled=true></select> }>
                            {move || Suspend::new(async move {
                                let list = users.await;
                                view! {
                                    <select name="user_id">
                                        {list.into_iter().filter(|u| !u.disabled).map(|u| {
                                            let me = use_context::<crate::model::CurrentUser>().is_some_and(|c| c.id == u.id);
                                            view! { <option value=u.id.to_string() selected=me>{format!("{} ({})", u.name, u.role.as_str())}</option> }
                                        }).collect_view()}
                                    </select>
                                }
                            })}
                        </Transition>
                    </label>
                })}
                <button type="submit">"Make token"</button>
            </ActionForm>
        </section>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match tokens.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No tokens yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="tokens">
                            <thead>
                                <tr>
                                    <th>"Name"</th>
                                    {admin.then(|| view! { <th>"Owner"</th> })}
                                    <th>"Role"</th>
                                    <th>"Created"</th>
                                    <th>"Last used"</th>
                                    <th>"State"</th>
                                    <th></th>
                                </tr>
                            </thead>
                            <tbody>{list.into_iter().map(row).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
