plugin "odd" {
  version = "1.0.0"
  kinds   = ["storage:3d"]
  hashes  = { linux_amd64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
}
