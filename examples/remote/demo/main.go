// Command demo runs examples/remote end to end with the servers it needs:
// versitygw (a real S3-compatible server) and an HTTP file server, both on
// loopback, stopped when it ends.
//
//	go run ./examples/remote/demo -bin dist/bin
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mmbuild/mmbuild/internal/testservers"
)

func main() {
	bin := flag.String("bin", "dist/bin", "folder with mmbuild and its plugins")
	example := flag.String("example", "examples/remote", "the example project")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *bin, *example); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

const (
	accessKey = "mmbuild-demo-access"
	secretKey = "mmbuild-demo-secret-key-0123456789"
	region    = "us-east-1"
)

func run(ctx context.Context, bin, example string) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	versitygw, err := testservers.ToolPath("versitygw")
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "mmbuild-demo-remote-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// The S3 server's posix backend: a folder per bucket, a file per object.
	s3root := filepath.Join(tmp, "s3")
	for _, b := range []string{"materials", "artifacts"} {
		if err := os.MkdirAll(filepath.Join(s3root, b), 0o755); err != nil {
			return err
		}
	}
	if err := copyFile(filepath.Join(example, "inputs/greeting.txt"), filepath.Join(s3root, "materials/greeting.txt")); err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	gw := exec.CommandContext(ctx, versitygw, "--port", addr, "--region", region, "--quiet", "posix", s3root)
	gw.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+accessKey, "ROOT_SECRET_ACCESS_KEY="+secretKey)
	gw.Stdout, gw.Stderr = os.Stderr, os.Stderr
	if err := gw.Start(); err != nil {
		return fmt.Errorf("starting versitygw: %w", err)
	}
	defer func() { _ = gw.Process.Signal(syscall.SIGTERM); _ = gw.Wait() }()
	endpoint := "http://" + addr
	if err := waitHTTP(endpoint, 20*time.Second); err != nil {
		return fmt.Errorf("versitygw: %w", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(filepath.Join(example, "inputs"))), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	httpURL := "http://" + ln.Addr().String()
	fmt.Printf("demo: S3 (versitygw) at %s, HTTP at %s\n", endpoint, httpURL)

	project := filepath.Join(tmp, "project")
	if err := copyTree(example, project); err != nil {
		return err
	}
	env := append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID="+accessKey, "AWS_SECRET_ACCESS_KEY="+secretKey, "AWS_REGION="+region,
		"MMBUILD_S3_ENDPOINT="+endpoint, "DEMO_HTTP_URL="+httpURL, "PWD="+project)
	for _, args := range [][]string{{"plugins", "lock"}, {"run"}} {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "mmbuild"), args...)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = project, env, os.Stdout, os.Stderr
		fmt.Printf("demo: mmbuild %s\n", strings.Join(args, " "))
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("mmbuild %s: %w", strings.Join(args, " "), err)
		}
	}
	fmt.Println("demo: the artifacts bucket now holds:")
	return filepath.Walk(filepath.Join(s3root, "artifacts"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			rel, _ := filepath.Rel(s3root, p)
			fmt.Printf("  s3://%s (%d bytes)\n", filepath.ToSlash(rel), fi.Size())
		}
		return err
	})
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitHTTP(url string, limit time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if resp, err := c.Get(url + "/"); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("no answer from %s within %s", url, limit)
}

func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "demo" || strings.HasPrefix(rel, "demo/") {
			return nil
		}
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		return copyFile(p, filepath.Join(dst, rel))
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
