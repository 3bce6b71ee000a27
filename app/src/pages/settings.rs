//! The config page (admin): every directive with its effective value and where it comes
//! from; the check settings that the file and environment leave alone can be changed here.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::settings::{list_settings, ResetSetting, SaveSetting};
use crate::components::outcome::outcome;
use crate::model::SettingView;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let save = ServerAction::<SaveSetting>::new();
    let reset = ServerAction::<ResetSetting>::new();
    // Said at the top: a save that worked, or a refusal that names no directive (a lost
    // session, say); a directive's refusal is said at its field.
    let saved_or_unplaced = Signal::derive(move || {
        save.value().get().filter(|v| match v {
            Err(e) => !names_a_directive(&e.to_string()),
            Ok(_) => true,
        })
    });
    let list = Resource::new(
        move || (save.version().get(), reset.version().get()),
        |_| list_settings(),
    );
    // A refused value is said beside its directive's field, without the directive's name
    // the server put first ("CheckPeriod: `soon` is not a duration …").
    let refusal_of = move |key: &str| {
        save.value().with(|v| match v {
            Some(Err(e)) => e
                .to_string()
                .strip_prefix(&format!("{key}: "))
                .map(str::to_string),
            _ => None,
        })
    };
    let row = move |s: SettingView| {
        let saved = s.source.starts_with("saved here");
        let editor = if s.editable {
            let key = s.key.clone();
            let reset_key = s.key.clone();
            let input = if s.flag {
                let on = s.value == "on";
                view! {
                    <select name="value" aria-label=format!("{} value", s.key)>
                        <option value="on" selected=on>"on"</option>
                        <option value="off" selected=!on>"off"</option>
                    </select>
                }
                .into_any()
            } else {
                view! { <input type="text" name="value" value=s.value.clone() required aria-label=format!("{} value", s.key)/> }
                    .into_any()
            };
            let error_key = s.key.clone();
            view! {
                <ActionForm action=save attr:class="save-setting">
                    <input type="hidden" name="key" value=key.clone()/>
                    {input}
                    <button type="submit">"Save"</button>
                </ActionForm>
                {move || refusal_of(&error_key).map(|m| view! { <p class="error field-error" role="alert">{m}</p> })}
                {saved
                    .then(|| {
                        view! {
                            <ActionForm action=reset attr:class="reset-setting">
                                <input type="hidden" name="key" value=reset_key.clone()/>
                                <button type="submit">"Back to default"</button>
                            </ActionForm>
                        }
                    })}
            }
            .into_any()
        } else {
            view! {
                <code class="value">{s.value.clone()}</code>
                <div class="muted read-only">{s.read_only_because.clone().unwrap_or_default()}</div>
            }
            .into_any()
        };
        view! {
            <tr data-key=s.key.clone() data-editable=s.editable.to_string()>
                <th scope="row" class="key">{s.key.clone()}</th>
                <td class="setting">{editor}</td>
                <td class="source">{s.source.clone()}</td>
                <td class="help muted">{s.help.clone()}</td>
            </tr>
        }
    };
    view! {
        <Title text="Settings · ipvet"/>
        <h1>"Settings"</h1>
        <p class="muted">
            "The configuration in effect. The config file and IPVET_ environment variables win over this page; "
            "check settings they leave at their default can be changed here and take effect at once."
        </p>
        {outcome(saved_or_unplaced, "Saved; in effect now.")}
        {outcome(reset.value(), "Back to its default; in effect now.")}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(items) => view! {
                        <table class="settings">
                            <thead>
                                <tr><th>"Directive"</th><th>"Value"</th><th>"Source"</th><th>"Meaning"</th></tr>
                            </thead>
                            <tbody>{items.into_iter().map(row).collect_view()}</tbody>
                        </table>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Whether `message` starts with a directive's name, as the server's refusals of a value do.
fn names_a_directive(message: &str) -> bool {
    message.split_once(": ").is_some_and(|(key, _)| {
        key.starts_with(|c: char| c.is_ascii_uppercase())
            && key.chars().all(|c| c.is_ascii_alphanumeric())
    })
}
