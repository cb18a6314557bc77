//! Terminal echo off while a secret is typed at a prompt, restored on drop.

pub struct EchoOff {
    saved: Option<libc::termios>,
}

impl EchoOff {
    pub fn new() -> EchoOff {
        // SAFETY: tcgetattr/tcsetattr on stdin with a termios we own; failures leave echo as is.
        unsafe {
            let mut termios: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut termios) != 0 {
                return EchoOff { saved: None };
            }
            let saved = termios;
            termios.c_lflag &= !libc::ECHO;
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &termios);
            EchoOff { saved: Some(saved) }
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(saved) = self.saved {
            // SAFETY: restores the attributes read in `new` on the same descriptor.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &saved);
            }
        }
    }
}
