//! A panic inside the runner must not leave faults behind. The run future
//! is polled inside `catch_unwind`; on a panic the caller reverts from the
//! journal, which holds every intent (see `run::recover`).

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

struct CatchPanic<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => {
                let message = payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_else(|| "unknown panic".into());
                Poll::Ready(Err(message))
            }
        }
    }
}

/// Runs `future`, turning a panic into `Err(message)`.
pub async fn catch_panic<F: Future>(future: F) -> Result<F::Output, String> {
    CatchPanic(Box::pin(future)).await
}
