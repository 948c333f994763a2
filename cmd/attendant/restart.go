package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"

	"github.com/switchboard/switchboard/app"
)

// exitRestart is what run returns when the receptionist asked to
// restart (the window's close path has run): main then starts the
// console again in place of this process. It is never an exit status.
const exitRestart = -1

// afterRun is the process's exit status for run's code: for exitRestart
// it first starts the console again with args (see restart), and is
// exitOK, or exitRuntime when it could not.
func afterRun(code int, args []string, stderr io.Writer) int {
	if code != exitRestart {
		return code
	}
	if err := restart(args); err != nil {
		fmt.Fprintf(stderr, "attendant: could not start again: %v: start Switchboard yourself\n", err)
		return exitRuntime
	}
	return exitOK
}

// restartArgs are the arguments the console starts again with: args
// without the flags that set what the window's settings hold (the
// settings just saved must win over them) and without -reset-settings
// (it would forget them), in flag-name order.
func restartArgs(args []string) []string {
	f := newFlagSet()
	if err := f.fs.Parse(args); err != nil {
		return nil
	}
	var out []string
	f.fs.Visit(func(fl *flag.Flag) {
		if fl.Name != "reset-settings" && !isSettingFlag(fl.Name, fl.Value.String()) {
			out = append(out, "-"+fl.Name+"="+fl.Value.String())
		}
	})
	return out
}

// isSettingFlag reports whether -name=value changes the settings parsed
// over the defaults or over settings where every field differs from
// them: then the window's settings hold what it sets.
func isSettingFlag(name, value string) bool {
	for _, saved := range []app.Settings{app.DefaultSettings(), otherSettings(1), otherSettings(2)} {
		with, _ := parseConfig([]string{"-" + name + "=" + value}, saved)
		without, _ := parseConfig(nil, saved)
		if with.settings != without.settings {
			return true
		}
	}
	return false
}

// otherSettings are settings whose every field is set to something a
// flag would not give (n: 1 or 2, two such sets whose booleans differ).
func otherSettings(n int) app.Settings {
	var s app.Settings
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			v.SetString(fmt.Sprintf("\x00other%d", n))
		case reflect.Bool:
			v.SetBool(n == 1)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			v.SetInt(int64(n))
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			v.SetUint(uint64(n))
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Field(i).CanSet() {
					fill(v.Field(i))
				}
			}
		}
	}
	fill(reflect.ValueOf(&s).Elem())
	return s
}

// restart starts the console again with restartArgs of args: in place
// of this process where the system can (the instance lock and the
// sockets, opened close-on-exec, are let go), else as a new process
// once this one exits. In place, it returns only when it could not.
func restart(args []string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("restart: find the program: %w", err)
	}
	return restartAs(exe, slices.Concat([]string{os.Args[0]}, restartArgs(args)))
}
