// Command maas-client drives a MAAS 2.0 API with Juju's own client library, gomaasapi (Debian's
// golang-github-juju-gomaasapi-dev), the way Juju's MAAS provider does: NewController (reads
// version/ and its capabilities, then users/?op=whoami), Machines, AllocateMachine with
// constraints, Machine.Start with user data, polling Machines by system id, ReleaseMachines.
//
// It is Ingot's proof that a MAAS client we did not write can drive the controller: every
// response goes through gomaasapi's schema checks, so a field of the wrong JSON type, a missing
// key or a wrong status code fails here with gomaasapi's own message.
//
// Output: one JSON object per line on stdout, one per step ({"step": …, "ok": true, …}); on
// failure a last line {"step": …, "ok": false, "kind": …, "error": …}, the same message on
// stderr, and exit status 1 (2 for bad usage). The API key comes from MAAS_API_KEY (never from
// the command line, where other users could read it in ps).
//
//	maas-client -url http://127.0.0.1:5240/MAAS/ <command> [flags]
//
// Commands: inventory, list, allocate, read, owner-data, instances, deploy, wait, release, cycle
// (allocate → owner data → instances → deploy → wait Deployed → release, in one process as Juju
// would). Run a command with -h for its flags.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/juju/gomaasapi"
	"github.com/juju/loggo"
)

// strList is a repeatable string flag (-tag a -tag b), also accepting "a,b".
type strList []string

func (s *strList) String() string { return strings.Join(*s, ",") }
func (s *strList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*s = append(*s, part)
		}
	}
	return nil
}

// usageError is bad input on the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// stepError names the step that failed; its kind comes from gomaasapi's error classes.
type stepError struct {
	step string
	err  error
}

func (e stepError) Error() string { return e.step + ": " + e.err.Error() }

// fail wraps err with the step it happened in.
func fail(step string, err error) error { return stepError{step: step, err: err} }

// kindOf classifies a gomaasapi error so the caller can assert on it without parsing text.
func kindOf(err error) string {
	switch {
	case gomaasapi.IsNoMatchError(err):
		return "no-match"
	case gomaasapi.IsPermissionError(err):
		return "permission"
	case gomaasapi.IsBadRequestError(err):
		return "bad-request"
	case gomaasapi.IsCannotCompleteError(err):
		return "cannot-complete"
	case gomaasapi.IsDeserializationError(err):
		return "deserialization"
	case gomaasapi.IsUnsupportedVersionError(err):
		return "unsupported-version"
	case gomaasapi.IsUnexpectedError(err):
		return "unexpected"
	}
	var u usageError
	if errors.As(err, &u) {
		return "usage"
	}
	return "error"
}

// serverError finds the HTTP status and body under gomaasapi's wrapping (juju/errors keeps the
// original error as the "underlying" one; UnexpectedError wraps it once more).
func serverError(err error) (int, string, bool) {
	for i := 0; err != nil && i < 32; i++ {
		if se, ok := err.(gomaasapi.ServerError); ok {
			return se.StatusCode, se.BodyMessage, true
		}
		if se, ok := gomaasapi.GetServerError(err); ok {
			return se.StatusCode, se.BodyMessage, true
		}
		if u, ok := err.(interface{ Underlying() error }); ok && u.Underlying() != nil {
			err = u.Underlying()
			continue
		}
		err = errors.Unwrap(err)
	}
	return 0, "", false
}

// emit prints one step as a JSON line.
func emit(step string, fields map[string]interface{}) {
	line := map[string]interface{}{"step": step, "ok": true}
	for k, v := range fields {
		line[k] = v
	}
	b, err := json.Marshal(line)
	if err != nil {
		// Only our own values are marshalled; a failure is a bug in this program.
		panic(err)
	}
	fmt.Println(string(b))
}

// connect builds the client exactly as Juju's provider does; NewController fetches version/,
// checks the capabilities' schema and authenticates with users/?op=whoami.
func connect(baseURL string, timeout time.Duration) (gomaasapi.Controller, error) {
	key := os.Getenv("MAAS_API_KEY")
	if key == "" {
		return nil, usageError{"MAAS_API_KEY is not set (consumer_key:token_key:token_secret)"}
	}
	t0 := time.Now()
	c, err := gomaasapi.NewController(gomaasapi.ControllerArgs{
		BaseURL:    baseURL,
		APIKey:     key,
		HTTPClient: &http.Client{Timeout: timeout},
	})
	if err != nil {
		return nil, fail("connect", err)
	}
	version, subversion, err := c.APIVersionInfo()
	if err != nil {
		return nil, fail("connect", err)
	}
	emit("connect", map[string]interface{}{
		"version":      version,
		"subversion":   subversion,
		"capabilities": c.Capabilities().SortedValues(),
		"ms":           time.Since(t0).Milliseconds(),
	})
	return c, nil
}

var commands = map[string]func(c gomaasapi.Controller, args []string) error{
	"inventory":  cmdInventory,
	"list":       cmdList,
	"allocate":   cmdAllocate,
	"read":       cmdRead,
	"deploy":     cmdDeploy,
	"wait":       cmdWait,
	"release":    cmdRelease,
	"cycle":      cmdCycle,
	"owner-data": cmdOwnerData,
	"networks":   cmdNetworks,
	"instances":  cmdInstances,
}

func run(argv []string) error {
	global := flag.NewFlagSet("maas-client", flag.ContinueOnError)
	baseURL := global.String("url", "", "MAAS URL, e.g. http://127.0.0.1:5240/MAAS/ (required)")
	timeout := global.Duration("http-timeout", 30*time.Second, "timeout of each HTTP request")
	trace := global.Bool("trace", false, "log every request and response (gomaasapi's TRACE) on stderr")
	if err := global.Parse(argv); err != nil {
		return usageError{err.Error()}
	}
	if *baseURL == "" {
		return usageError{"-url is required"}
	}
	rest := global.Args()
	if len(rest) == 0 {
		return usageError{"a command is required: inventory|list|allocate|read|owner-data|instances|deploy|wait|release|cycle"}
	}
	cmd, ok := commands[rest[0]]
	if !ok {
		return usageError{fmt.Sprintf("unknown command %q", rest[0])}
	}
	if *trace {
		if err := loggo.ConfigureLoggers("maas=TRACE"); err != nil {
			return usageError{err.Error()}
		}
	}
	c, err := connect(*baseURL, *timeout)
	if err != nil {
		return err
	}
	return cmd(c, rest[1:])
}

func main() {
	err := run(os.Args[1:])
	if err == nil {
		return
	}
	step, cause := "main", err
	var se stepError
	if errors.As(err, &se) {
		step, cause = se.step, se.err
	}
	line := map[string]interface{}{
		"step": step, "ok": false, "kind": kindOf(cause), "error": err.Error(),
	}
	if status, body, ok := serverError(cause); ok {
		line["http_status"], line["body"] = status, body
	}
	b, _ := json.Marshal(line)
	fmt.Println(string(b))
	fmt.Fprintf(os.Stderr, "maas-client: %s\n", err)
	var u usageError
	if errors.As(err, &u) {
		os.Exit(2)
	}
	os.Exit(1)
}
