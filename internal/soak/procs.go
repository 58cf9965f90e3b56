package soak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// BuildDarsi builds the darsi command into dir and returns its path.
func BuildDarsi(dir string) (string, error) {
	mod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(mod)))
	bin := filepath.Join(dir, "darsi")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/darsi")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/darsi: %v\n%s", err, out)
	}
	return bin, nil
}

// Redis is one redis-server process of the soak's own, on a fixed
// loopback port and folder, so that a restart finds its data again.
type Redis struct {
	Addr string
	dir  string
	args []string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	logs *bytes.Buffer
}

// StartRedis starts redis-server on a free port in dir with the given
// extra configuration ("--appendonly", "yes", …).
func StartRedis(dir string, extra ...string) (*Redis, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &Redis{Addr: addr, dir: dir}
	r.args = append([]string{"--port", port, "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--daemonize", "no", "--protected-mode", "no"}, extra...)
	return r, r.Start()
}

// Start starts the server (again) and waits until it answers PING with
// its data loaded.
func (r *Redis) Start() error {
	r.mu.Lock()
	r.cmd = exec.Command("redis-server", r.args...)
	r.logs = &bytes.Buffer{}
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		r.mu.Unlock()
		return fmt.Errorf("redis-server: %w (is Redis installed?)", err)
	}
	done := make(chan struct{})
	r.done = done
	cmd := r.cmd
	go func() { cmd.Wait(); close(done) }()
	r.mu.Unlock()
	return waitRedis(r.Addr, 20*time.Second)
}

// Kill ends the server with SIGKILL: what was not on disk is gone.
func (r *Redis) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// Stop ends the server if it runs.
func (r *Redis) Stop() { r.Kill() }

// waitRedis waits until the server at addr answers PING (not LOADING).
func waitRedis(addr string, within time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis at %s did not answer: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Replica is one "darsi serve" process.
type Replica struct {
	Name string
	Base string // http://127.0.0.1:port
	bin  string
	env  []string
	logf string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// NewReplica prepares a replica of bin with the environment env (added
// to the process's), logging to logFile.
func NewReplica(name, bin, logFile string, env []string) (*Replica, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	return &Replica{Name: name, Base: "http://" + addr, bin: bin, logf: logFile,
		env: append(append(os.Environ(), env...), "DARSI_ADDR="+addr)}, nil
}

// Start starts the process and waits until /readyz answers 200.
func (r *Replica) Start(within time.Duration) error {
	logs, err := os.OpenFile(r.logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.cmd = exec.Command(r.bin, "serve")
	r.cmd.Env = r.env
	r.cmd.Stdout, r.cmd.Stderr = logs, logs
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		r.mu.Unlock()
		logs.Close()
		return err
	}
	done := make(chan struct{})
	r.done = done
	cmd := r.cmd
	go func() { cmd.Wait(); logs.Close(); close(done) }()
	r.mu.Unlock()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			r.mu.Lock()
			r.cmd = nil
			r.mu.Unlock()
			return fmt.Errorf("%s exited at startup: %s", r.Name, r.Tail(500))
		default:
		}
		if resp, err := http.Get(r.Base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s: %s", r.Name, within, r.Tail(2000))
}

// Kill ends the process with SIGKILL, as an out-of-memory killer or a
// lost node does: nothing in flight finishes.
func (r *Replica) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// Stop ends the process with SIGTERM, as an orchestrator does, and
// reports an unclean exit.
func (r *Replica) Stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return nil
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
		r.cmd = nil
		return fmt.Errorf("%s did not stop on SIGTERM", r.Name)
	}
	err := r.cmd.ProcessState
	r.cmd = nil
	if !err.Success() {
		return fmt.Errorf("%s exited with %v", r.Name, err)
	}
	return nil
}

// Tail returns the end of the replica's log.
func (r *Replica) Tail(n int) string {
	data, err := os.ReadFile(r.logf)
	if err != nil {
		return err.Error()
	}
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

// Running reports whether the process runs.
func (r *Replica) Running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd != nil
}

// errStopped is returned for requests to a replica that is down.
var errStopped = errors.New("replica down")

// errNoSentinel: this build runs no Sentinel.
var errNoSentinel = errors.New("soak: Sentinel not available")
