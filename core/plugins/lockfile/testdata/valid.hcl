# This file is maintained by "mmbuild plugins lock". Commit it beside mmbuild.yaml.
plugin "make" {
  version = "0.1.0"
  hashes = {
    linux_amd64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    "darwin_arm64" = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
  }
}

plugin "s3" {
  version = "v1.2.3"
  hashes  = { linux_amd64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
}
