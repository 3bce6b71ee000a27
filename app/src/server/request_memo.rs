//! What one request has read, by name, for the rest of that request. A page drawn on the
//! server may run the same server function more than once (a `Suspense` runs its children
//! again once its own data has come, and the page below is made anew with its resources),
//! and each run read the database again: the dashboard's summary was read twice per page.
//! Kept per request only (provided with each request's context, dropped with it), so
//! nothing read here outlives the request or needs invalidating on another instance.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use leptos::prelude::use_context;
use tokio::sync::OnceCell;

use crate::error::AppError;

type Slot = Arc<OnceCell<Arc<dyn Any + Send + Sync>>>;

/// The request's memo; absent outside a request (a background job, a test's direct call),
/// where each read runs.
#[derive(Clone, Default)]
pub struct RequestMemo(Arc<Mutex<HashMap<String, Slot>>>);

impl RequestMemo {
    fn slot(&self, key: String) -> Slot {
        let mut slots = self.0.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(key).or_default().clone()
    }
}

/// `read`'s answer, read once per request for `key` (which must name everything the answer
/// depends on: the function and its arguments). A failed read is not kept: a later call
/// in the request tries again.
pub async fn once<T, F, Fut>(key: String, read: F) -> Result<T, AppError>
where
    T: Clone + Send + Sync + 'static,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let Some(memo) = use_context::<RequestMemo>() else {
        return read().await;
    };
    let slot = memo.slot(key);
    let kept = slot
        .get_or_try_init(|| async {
            let value = read().await?;
            Ok::<_, AppError>(Arc::new(value) as Arc<dyn Any + Send + Sync>)
        })
        .await?;
    match kept.downcast_ref::<T>() {
        Some(value) => Ok(value.clone()),
        // Two reads of different types under one key: a bug here, not the caller's.
        None => {
            tracing::error!(
                wanted = std::any::type_name::<T>(),
                "request memo: two types kept under one key"
            );
            Err(AppError::Internal)
        }
    }
}
