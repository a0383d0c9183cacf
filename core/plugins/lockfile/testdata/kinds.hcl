# A lock with kinds, written by hand: order and layout differ from Bytes.
plugin "http" {
  hashes  = { linux_amd64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
  kinds   = ["storage:https", "storage:http"]
  version = "1.0.0"
}

plugin "git" {
  version = "0.3.0"
  kinds = [
    "storage:git+ssh",
    "storage:git+https",
    "storage:git+file",
  ]
  hashes = {
    linux_amd64  = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    darwin_arm64 = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
  }
}

plugin "make" {
  version = "0.1.0"
  kinds   = ["handler:make"]
  hashes  = { linux_amd64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
}

# Locked before kinds were recorded: still valid, serves nothing known.
plugin "old" {
  version = "0.0.1"
  hashes  = { linux_amd64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
}
