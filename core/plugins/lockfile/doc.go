// Package lockfile reads and writes mmbuild.lock.hcl, which pins every
// plugin's version and the sha256 of its binary, per platform, and records
// what each plugin serves (its kinds: "handler:make", "storage:https"), so
// that a run maps a handler id or a URL scheme to a plugin without starting
// any:
//
//	plugin "http" {
//	  version = "1.0.0"
//	  kinds   = ["storage:http", "storage:https"]
//	  hashes = {
//	    linux_amd64 = "sha256:…"
//	  }
//	}
//
// kinds is optional (a lock written before kinds were recorded has none);
// one kind is recorded by one plugin at most.
package lockfile
