//! Where a backup point is stored: the task's own repository and the copy
//! jobs' destinations holding it, as badges.

use leptos::prelude::*;

use crate::api::restores::PointLocation;
use crate::i18n::*;

#[component]
pub fn LocationBadges(locations: Vec<PointLocation>) -> impl IntoView {
    let i18n = use_i18n();
    if locations.is_empty() {
        return view! {
            <span class="muted" data-testid="point-location-none" title=move || t_string!(i18n, recovery.not_stored_tip)>{t!(i18n, recovery.not_stored)}</span>
        }
        .into_any();
    }
    locations
        .into_iter()
        .map(|l| {
            let copy = l.copy;
            let class = if copy { "badge badge--copy" } else { "badge" };
            let title = move || {
                if copy {
                    t_string!(i18n, recovery.copy_tip)
                } else {
                    t_string!(i18n, recovery.own_repository_tip)
                }
            };
            view! {
                <span class=class data-testid="point-location" data-copy=copy.to_string() title=title>
                    {copy.then_some(t!(i18n, recovery.copy_prefix))}<span translate="no">{l.repository_name}</span>
                </span>
                " "
            }
        })
        .collect_view()
        .into_any()
}
