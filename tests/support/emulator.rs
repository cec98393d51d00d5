//! The emulator, started in-process on a free loopback port for a test, on its own runtime so
//! that blocking test code (the CLI runs) can use it.

use std::net::{Ipv4Addr, SocketAddr};

use renewctl::emulator::{self, EmulatorHandle, EmulatorOptions, FaultKind, Fleet, Stats};

pub struct Emulator {
    handle: Option<EmulatorHandle>,
    runtime: tokio::runtime::Runtime,
    pub key_id: String,
    pub key_secret: String,
}

impl Emulator {
    pub fn start(fleet_yaml: &str) -> Emulator {
        Emulator::start_with(fleet_yaml, EmulatorOptions::default())
    }

    pub fn start_with(fleet_yaml: &str, options: EmulatorOptions) -> Emulator {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let fleet = Fleet::from_yaml_str(fleet_yaml).expect("valid fleet");
        let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let handle = runtime
            .block_on(emulator::start(fleet, listen, options))
            .expect("emulator starts");
        let (key_id, key_secret) = handle.access_key();
        Emulator {
            handle: Some(handle),
            runtime,
            key_id,
            key_secret,
        }
    }

    pub fn handle(&self) -> &EmulatorHandle {
        self.handle.as_ref().expect("running")
    }

    pub fn endpoint(&self) -> String {
        self.handle().endpoint()
    }

    pub fn stats(&self) -> Stats {
        self.handle().stats()
    }

    pub fn push_fault(&self, action: Option<&str>, kind: FaultKind) {
        self.handle().push_fault(action, kind);
    }

    /// The emulator's state of one instance (it must exist).
    pub fn instance(&self, id: &str) -> renewctl::emulator::EmulatedInstance {
        self.handle()
            .instance(id)
            .unwrap_or_else(|| panic!("no instance {id}"))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.runtime.block_on(handle.shutdown());
        }
    }
}
