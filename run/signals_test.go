package run

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// A stop signal that reached sbx while the container was being set up must end the
// command once it runs: forwarded late, it would arrive before the command could install a
// handler (a shell's trap) and, as PID 1, the command would ignore it and run to the end.
func TestPendingStopSignalKillsTheCommand(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Skip(err)
		}
		sigs := make(chan os.Signal, 1)
		sigs <- sig
		st := &streams{}
		stop := st.forwardSignals(cmd.Process, Stdio{}, sigs)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("%v caught before the start did not end the command", sig)
		}
		stop()
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Errorf("%v caught before the start: the command ended with %v, want SIGKILL", sig, cmd.ProcessState)
		}
	}
}
