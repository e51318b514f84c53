// Package spec turns the values of docker's `run` flags (-e, --env-file, --ulimit, --tmpfs,
// --memory, --cpus, -u, --cap-add/--cap-drop, --security-opt, --stop-timeout, --stop-signal,
// --name, --hostname) into typed values, with docker's syntax and one-line errors that say
// what was wrong and what is expected.
//
// The package is pure and runs on the host side: it imports nothing else of sbx, keeps no
// package-level state, touches no process state, and reads only what it is given (the one
// exception is ParseEnvFile, which opens the file it is named). Everything that depends on
// the running system (the environment, the kernel's capability list, the container's
// /etc/passwd) is passed in by the caller.
package spec
