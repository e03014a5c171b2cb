//! SIGINT and SIGTERM: a run asked to stop stops within a second and
//! leaves the previous output whole.

use std::sync::atomic::Ordering;
use std::time::Duration;

/// How long a signalled process waits for its run to stop by itself
/// before it exits anyway.
const STOP_GRACE: Duration = Duration::from_millis(300);

/// Installs the SIGINT/SIGTERM handler. One signal ends the process
/// within a second whatever it is doing: the run is asked to stop (the
/// engine and the long loops of studies, charts and merges check between
/// steps, remove their temporary folder and return), and if it has not
/// ended 0.3 s after the signal (blocked in a read, or in a step that does
/// not check), the handler removes the temporary folders and lock files
/// itself and exits with 130. A commit in progress (the final renames) is
/// waited for, so the output is the previous one or the new one, whole.
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        if !crate::engine::INTERRUPTED.swap(true, Ordering::SeqCst) {
            crate::console::say("\ninterrupted: stopping");
            std::thread::sleep(STOP_GRACE);
        }
        crate::output::remove_staging();
        crate::trials_out::remove_temporary();
        std::process::exit(crate::error::EXIT_INTERRUPTED as i32);
    });
}
