//! The real binary in a real pseudo-terminal, its screen kept by a vt100 parser: end-to-end
//! console tests that need nothing outside Cargo.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub const WAIT: Duration = Duration::from_secs(20);

pub struct PtySession {
    pub parser: Arc<Mutex<vt100::Parser>>,
    /// Every byte the program wrote, for checks the parsed screen cannot answer.
    pub raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    pub master: Box<dyn MasterPty + Send>,
    /// Set while the reader thread waits for output, so all it took has been parsed.
    caught_up: Arc<AtomicBool>,
    /// Disconnected once the reader thread has taken the program's last byte (the pty's
    /// other side is closed when the program, the only holder, exits).
    drained: std::sync::mpsc::Receiver<()>,
}

impl PtySession {
    /// Starts `jira-auth` with `args` and `env` in a `cols`x`rows` terminal.
    pub fn spawn(args: &[&str], env: &[(&str, String)], cols: u16, rows: u16) -> PtySession {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_jira-auth"));
        command.args(args);
        command.env_clear();
        command.env("PATH", std::env::var("PATH").unwrap_or_default());
        command.env("TERM", "xterm-256color");
        command.env("HOME", std::env::temp_dir());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = pty
            .slave
            .spawn_command(command)
            .expect("spawn jira-auth in the pty");
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let (reading, drained) = std::sync::mpsc::channel::<()>();
        let caught_up = Arc::new(AtomicBool::new(false));
        {
            let parser = Arc::clone(&parser);
            let raw = Arc::clone(&raw);
            let caught_up = Arc::clone(&caught_up);
            std::thread::spawn(move || {
                let _reading = reading;
                let mut buffer = [0u8; 8192];
                loop {
                    caught_up.store(true, Ordering::SeqCst);
                    let Ok(n @ 1..) = reader.read(&mut buffer) else {
                        break;
                    };
                    caught_up.store(false, Ordering::SeqCst);
                    parser.lock().unwrap().process(&buffer[..n]);
                    raw.lock().unwrap().extend_from_slice(&buffer[..n]);
                }
            });
        }
        let writer = pty.master.take_writer().expect("pty writer");
        PtySession {
            parser,
            raw,
            writer,
            child,
            master: pty.master,
            caught_up,
            drained,
        }
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen shows `text`; panics with the screen when it never does.
    pub fn wait_for(&self, text: &str) {
        let started = Instant::now();
        while started.elapsed() < WAIT {
            if self.screen().contains(text) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "the screen never showed {text:?}; it shows:\n{}",
            self.screen()
        );
    }

    pub fn wait_for_raw(&self, text: &str) {
        let started = Instant::now();
        while started.elapsed() < WAIT {
            if String::from_utf8_lossy(&self.raw.lock().unwrap()).contains(text) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the output never held {text:?}; screen:\n{}", self.screen());
    }

    pub fn send(&mut self, bytes: &str) {
        self.writer
            .write_all(bytes.as_bytes())
            .expect("write to the pty");
        self.writer.flush().expect("flush the pty");
    }

    /// Text as a bracketed paste, the way a terminal delivers Ctrl-Shift-V.
    pub fn paste(&mut self, text: &str) {
        self.send(&format!("\x1b[200~{text}\x1b[201~"));
    }

    /// The screen once it shows `text` and the frame is whole: the program has drawn all
    /// it is going to for now (every thread of it asleep, waiting for input, a timer or an
    /// answer), nothing it wrote is left unread in the pty, and the reader has parsed what
    /// it took; seen twice over with the same screen. Panics with the screen after [`WAIT`].
    pub fn wait_drawn(&self, text: &str) -> String {
        let started = Instant::now();
        let mut seen: Option<String> = None;
        while started.elapsed() < WAIT {
            let screen = self.screen();
            if screen.contains(text) && self.quiet() {
                if seen.as_ref() == Some(&screen) {
                    return screen;
                }
                seen = Some(screen);
            } else {
                seen = None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "the screen never settled on {text:?}; it shows:\n{}",
            self.screen()
        );
    }

    /// Whether the program is asleep with all its output parsed (see [`Self::wait_drawn`]).
    fn quiet(&self) -> bool {
        let Some(pid) = self.child.process_id() else {
            return false;
        };
        let asleep = std::fs::read_dir(format!("/proc/{pid}/task")).is_ok_and(|tasks| {
            tasks.flatten().all(|task| {
                std::fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
                    // "tid (comm) S ...": the state follows the last ')'.
                    stat.rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().next())
                        .is_some_and(|state| state == "S")
                })
            })
        });
        let Some(fd) = self.master.as_raw_fd() else {
            return false;
        };
        let mut unread: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int we own, from a valid open descriptor.
        let asked = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut unread) };
        asleep && asked == 0 && unread == 0 && self.caught_up.load(Ordering::SeqCst)
    }

    /// Waits until the screen no longer shows `text`; panics with the screen when it still
    /// does after [`WAIT`].
    pub fn wait_gone(&self, text: &str) {
        let started = Instant::now();
        while started.elapsed() < WAIT {
            if !self.screen().contains(text) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the screen still shows {text:?}:\n{}", self.screen());
    }

    /// Waits for the program to exit and returns its exit code.
    pub fn wait_exit(&mut self) -> u32 {
        let started = Instant::now();
        while started.elapsed() < WAIT {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                // The reader thread takes the last bytes, then hangs up.
                let left = WAIT.saturating_sub(started.elapsed());
                if let Ok(()) | Err(RecvTimeoutError::Timeout) = self.drained.recv_timeout(left) {
                    panic!(
                        "the pty stayed open after jira-auth exited; screen:\n{}",
                        self.screen()
                    );
                }
                return status.exit_code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("jira-auth did not exit; screen:\n{}", self.screen());
    }

    /// Whether the terminal is back in cooked mode (canonical input with echo).
    pub fn cooked(&self) -> bool {
        let fd = self.master.as_raw_fd().expect("master fd");
        // SAFETY: tcgetattr only fills the struct we own from a valid open descriptor.
        unsafe {
            let mut termios: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut termios) != 0 {
                return false;
            }
            termios.c_lflag & libc::ICANON != 0 && termios.c_lflag & libc::ECHO != 0
        }
    }
}

impl Drop for PtySession {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
