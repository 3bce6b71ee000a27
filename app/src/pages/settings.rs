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
    let list = Resource::new(
        move || (save.version().get(), reset.version().get()),
        |_| list_settings(),
    );
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
            view! {
                <ActionForm action=save attr:class="save-setting">
                    <input type="hidden" name="key" value=key.clone()/>
                    {input}
                    <button type="submit">"Save"</button>
                </ActionForm>
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
        {outcome(save.value(), "Saved; in effect now.")}
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
