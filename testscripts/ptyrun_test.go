package testscripts

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ptyrunMain is the `ptyrun` command of the scripts: it runs a command on a new
// pseudo-terminal of a given size (as a user's terminal would be), types each line of
// INPUT once the output so far contains the line's expected prompt, and copies everything
// the terminal shows to stdout. It exits with the command's status.
//
//	ptyrun ROWSxCOLS INPUT command [args...]
//
// INPUT lines are "EXPECT<TAB>TEXT": wait until EXPECT has appeared, then type TEXT and a
// carriage return (\x03 in TEXT is Ctrl-C).
func ptyrunMain() {
	if len(os.Args) < 4 {
		log.Fatal("usage: ptyrun ROWSxCOLS INPUT command [args...]")
	}
	var rows, cols uint16
	fmt.Sscanf(os.Args[1], "%dx%d", &rows, &cols)
	input, err := os.ReadFile(os.Args[2])
	if err != nil {
		log.Fatal(err)
	}
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		log.Fatal(err)
	}
	unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0)
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	if err != nil {
		log.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		log.Fatal(err)
	}
	unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
	cmd := exec.Command(os.Args[3], os.Args[4:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	slave.Close()
	m := os.NewFile(uintptr(master), "ptmx")
	var mu sync.Mutex
	var seen bytes.Buffer
	seenString := func() string { mu.Lock(); defer mu.Unlock(); return seen.String() }
	got := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := m.Read(buf)
			if k > 0 {
				os.Stdout.Write(buf[:k])
				mu.Lock()
				seen.Write(buf[:k])
				mu.Unlock()
				select {
				case got <- struct{}{}:
				default:
				}
			}
			if err != nil {
				close(done)
				return
			}
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for _, line := range strings.Split(strings.TrimRight(string(input), "\n"), "\n") {
		expect, text, _ := strings.Cut(line, "\t")
		for !strings.Contains(seenString(), expect) {
			select {
			case <-got:
			case <-done:
				log.Fatalf("ptyrun: the command ended before %q appeared", expect)
			case <-time.After(time.Until(deadline)):
				log.Fatalf("ptyrun: %q did not appear within 30s", expect)
			}
		}
		// Consume what was matched, so the next expectation needs new output.
		mu.Lock()
		rest := seen.String()[strings.Index(seen.String(), expect)+len(expect):]
		seen.Reset()
		seen.WriteString(rest)
		mu.Unlock()
		text = strings.ReplaceAll(text, `\x03`, "\x03")
		if strings.HasSuffix(text, "\x03") {
			io.WriteString(m, text)
		} else {
			io.WriteString(m, text+"\r")
		}
	}
	err = cmd.Wait()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	if ee, ok := err.(*exec.ExitError); ok {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		log.Fatal(err)
	}
}
