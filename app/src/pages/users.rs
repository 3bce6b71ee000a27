//! Users (admin): create, set role, disable or enable, reset password.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::users::{list_users, CreateUser, ResetUserPassword, SetUserDisabled, SetUserRole};
use crate::components::confirm::Confirm;
use crate::components::outcome::outcome;
use crate::components::when::When;
use crate::model::{Role, UserView};

#[component]
pub fn UsersPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let set_role = ServerAction::<SetUserRole>::new();
    let set_disabled = ServerAction::<SetUserDisabled>::new();
    let reset = ServerAction::<ResetUserPassword>::new();
    let users = Resource::new(
        move || {
            (
                create.version().get(),
                set_role.version().get(),
                set_disabled.version().get(),
                reset.version().get(),
            )
        },
        |_| list_users(),
    );
    let me = use_context::<crate::model::CurrentUser>().map(|c| c.id);
    let row = move |u: UserView| {
        let id = u.id;
        if Some(id) == me {
            // The server refuses an admin's change of their own role or state; offering
            // the buttons would only lead to that refusal.
            return view! {
                <tr data-user=u.name.clone()>
                    <td>{u.name.clone()} " (you)"</td>
                    <td>{u.role.as_str()}</td>
                    <td>"active"</td>
                    <td class="when"><When at=u.created_at.clone()/></td>
                    <td class="muted">
                        "Change your password on " <a href="/account">"your account"</a> "."
                    </td>
                </tr>
            }
            .into_any();
        }
        let role = u.role;
        let disabled = u.disabled;
        let role_label = format!("Role of {}", u.name);
        let password_label = format!("New password for {}", u.name);
        let disable_button = format!("Disable {}", u.name);
        view! {
            <tr data-user=u.name.clone()>
                <td>{u.name.clone()}</td>
                <td>{u.role.as_str()}</td>
                <td>{if u.disabled { "disabled" } else { "active" }}</td>
                <td class="when"><When at=u.created_at.clone()/></td>
                <td>
                    <div class="actions">
                    <ActionForm action=set_role>
                        <input type="hidden" name="user_id" value=id.to_string()/>
                        <select name="role" aria-label=role_label>
                            {Role::ALL
                                .into_iter()
                                .map(|r| view! { <option value=r.as_str() selected=r == role>{r.as_str()}</option> })
                                .collect_view()}
                        </select>
                        <button type="submit">"Set role"</button>
                    </ActionForm>
                    {if disabled {
                        view! {
                            <ActionForm action=set_disabled>
                                <input type="hidden" name="user_id" value=id.to_string()/>
                                <input type="hidden" name="disabled" value="false"/>
                                <button type="submit">"Enable"</button>
                            </ActionForm>
                        }
                            .into_any()
                    } else {
                        view! {
                            <Confirm
                                label="Disable"
                                question=format!(
                                    "Disable {}? Their sessions and API tokens stop working at once, until an admin enables them again.",
                                    u.name,
                                )
                            >
                                <ActionForm action=set_disabled>
                                    <input type="hidden" name="user_id" value=id.to_string()/>
                                    <input type="hidden" name="disabled" value="true"/>
                                    <button type="submit">{disable_button.clone()}</button>
                                </ActionForm>
                            </Confirm>
                        }
                            .into_any()
                    }}
                    <ActionForm action=reset>
                        <input type="hidden" name="user_id" value=id.to_string()/>
                        <input
                            type="password"
                            name="password"
                            placeholder="New password"
                            autocomplete="new-password"
                            aria-label=password_label.clone()
                            required
                        />
                        <button type="submit">"Reset password"</button>
                    </ActionForm>
                    </div>
                </td>
            </tr>
        }
        .into_any()
    };
    view! {
        <Title text="Users · ipvet"/>
        <h1>"Users"</h1>
        {outcome(create.value(), "User created.")}
        {outcome(set_role.value(), "Role changed.")}
        {outcome(set_disabled.value(), "User updated.")}
        {outcome(reset.value(), "Password reset.")}
        <section class="card">
            <h2>"Add a user"</h2>
            <ActionForm action=create>
                <label>"Name" <input type="text" name="name" required autocomplete="off"/></label>
                <label>
                    "Role"
                    <select name="role">
                        {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str()>{r.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <label>
                    "Password" <input type="password" name="password" required autocomplete="new-password"/>
                </label>
                <button type="submit">"Create user"</button>
            </ActionForm>
        </section>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(list) => {
                        view! {
                            <table class="users">
                                <thead>
                                    <tr>
                                        <th>"Name"</th>
                                        <th>"Role"</th>
                                        <th>"State"</th>
                                        <th>"Created"</th>
                                        <th>"Actions"</th>
                                    </tr>
                                </thead>
                                <tbody>{list.into_iter().map(row).collect_view()}</tbody>
                            </table>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
