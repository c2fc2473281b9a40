//! Pure evaluation of captures on a response.
//! OWNER: helper C — stub, to be implemented.

use super::expect::ResponseView;
use crate::journey::model::Capture;

/// Takes the capture's value from the response, or says why nothing was found.
pub fn eval_capture(_capture: &Capture, _resp: &ResponseView<'_>) -> Result<serde_json::Value, String> {
    todo!()
}
