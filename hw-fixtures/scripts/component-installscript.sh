#!/bin/sh
# component-installscript.sh: test stand-in for the ADU Contoso demo scripts
# (contoso-camera-installscript.sh / contoso-motor-installscript.sh in Azure/iot-hub-device-update,
# src/extensions/component_enumerators/examples/contoso_component_enumerator/demo/sample-updates/scripts/).
# Same options and result codes as those scripts; POSIX sh so it also runs under dash/busybox.
#
# Options (as the microsoft/script:1 handler passes them, reference/adu-agent.md §3.2-3.5):
#   --action-is-installed | --action-download | --action-install | --action-apply | --action-cancel
#   --action <is-installed|download|install|apply|cancel>          (handlerProperties.apiVersion "1.1")
#   --action_cancel                                                (the demo scripts' spelling)
#   --component-id/-name/-group/-manufacturer(-vendor)/-model/-version <value>
#   --component-prop <name> <value>      only "path" is used: the component's state folder
#   --firmware-file <file>               file in the work folder that install copies to <path>/firmware.json
#   --pre-install-sim-success | --post-install-sim-success
#   --restart-to-apply (apply → 705) | --restart-agent-to-apply (apply → 707)
#   --work-folder <dir> --result-file <file> --installed-criteria <criteria>
#   Unknown options are ignored, as the demo does.
#
# State: <path>/installed-criteria, one criteria per line. Without a component path (host step,
# or "n/a" because the step has no component) the folder is $SENSOR_PROXY_HOST_STATE, default
# <work-folder>/../host-state. A component path that does not exist is an offline component.
#
# Behaviour (demo precedence: is-installed, then simulations, then download/install/apply):
#   is-installed  900 if the state file has the criteria line (for a pre/post simulation step also
#                 "pre-install:<criteria>" / "post-install:<criteria>"), else 901; offline component →
#                 resultCode 0, ERC 0x300001F6 (ISINSTALLED_FAILURE_COMPONENT_UNAVAILABLE), as the demo.
#   cancel        800 (the demo scripts never get it: the ADU handler does not run cancel, issue #776).
#   pre/post sim  700 for any action; install/apply also record "pre-install:<criteria>" /
#                 "post-install:<criteria>". A tagged line, so the firmware step that follows with the
#                 same criteria is not taken as installed (the demo's is-installed looks at firmware.json).
#   download      502 (Download_Skipped_FileExists: files are already in the work folder).
#   install       603 if the criteria line is present; else copies --firmware-file (if given) to
#                 <path>/firmware.json and appends the criteria line: 600. No criteria → 0 + 0x30500002
#                 (MISSING_INSTALLED_CRITERIA); cp failure → 0 + 0x30501000+exit, as the demo.
#   apply         700, 705 with --restart-to-apply, 707 with --restart-agent-to-apply.
# Bad option values exit 1 with a message on stderr (the handler reports 0x30501001).
#
# Every invocation first appends its argv to $SENSOR_PROXY_SCRIPT_LOG (when set): one line,
# the script's base name then each argument, all separated by TAB. Tests assert on that log.

if [ -n "${SENSOR_PROXY_SCRIPT_LOG:-}" ]; then
    line=$(basename "$0")
    for a in "$@"; do line="$line	$a"; done
    printf '%s\n' "$line" >> "$SENSOR_PROXY_SCRIPT_LOG"
fi

error() { echo "Error: $*" >&2; }

# A value must be present and must not look like an option (the demo scripts' rule).
need_value() {
    case "$2" in
        '' | -*) error "$1 requires a value."; exit 1 ;;
    esac
}

action= component_id= component_name= component_group= component_vendor= component_model= component_version=
component_path= firmware_file= workfolder= result_file= installed_criteria=
pre_sim= post_sim= restart_to_apply= restart_agent_to_apply=

while [ $# -gt 0 ]; do
    case "$1" in
        --action-is-installed) action=is-installed; shift ;;
        --action-download) action=download; shift ;;
        --action-install) action=install; shift ;;
        --action-apply) action=apply; shift ;;
        --action-cancel | --action_cancel) action=cancel; shift ;;
        --action)
            case "$2" in
                is-installed | download | install | apply | cancel) action=$2 ;;
                *) error "--action requires one of is-installed, download, install, apply, cancel."; exit 1 ;;
            esac
            shift 2 ;;
        --component-id) need_value "$1" "$2"; component_id=$2; shift 2 ;;
        --component-name) need_value "$1" "$2"; component_name=$2; echo "Component name: $component_name"; shift 2 ;;
        --component-group) need_value "$1" "$2"; component_group=$2; shift 2 ;;
        --component-manufacturer | --component-vendor) need_value "$1" "$2"; component_vendor=$2; shift 2 ;;
        --component-model) need_value "$1" "$2"; component_model=$2; shift 2 ;;
        --component-version) need_value "$1" "$2"; component_version=$2; shift 2 ;;
        --component-prop)
            need_value "$1" "$2"
            need_value "$1 $2" "$3"
            [ "$2" = path ] && component_path=$3
            echo "Set component property '$2', value: '$3'"
            shift 3 ;;
        --firmware-file) need_value "$1" "$2"; firmware_file=$2; shift 2 ;;
        --work-folder) need_value "$1" "$2"; workfolder=$2; shift 2 ;;
        --result-file) need_value "$1" "$2"; result_file=$2; shift 2 ;;
        --installed-criteria) need_value "$1" "$2"; installed_criteria=$2; shift 2 ;;
        --pre-install-sim-success) pre_sim=yes; shift ;;
        --post-install-sim-success) post_sim=yes; shift ;;
        --restart-to-apply) restart_to_apply=yes; shift ;;
        --restart-agent-to-apply) restart_agent_to_apply=yes; shift ;;
        *) shift ;;
    esac
done

# Writes the ADUC_Result JSON ($1 resultCode, $2 extendedResultCode, $3 details).
result() {
    details=$(printf '%s' "$3" | sed 's/\\/\\\\/g; s/"/\\"/g')
    json=$(printf '{"resultCode":%d,"extendedResultCode":%d,"resultDetails":"%s"}' "$1" "$2" "$details")
    echo "Result: $json"
    if [ -n "$result_file" ]; then printf '%s\n' "$json" > "$result_file"; else printf '%s\n' "$json"; fi
}

if [ -n "$component_path" ] && [ "$component_path" != n/a ]; then
    state_dir=$component_path
    offline=
    [ -d "$state_dir" ] || offline=yes
else
    if [ -z "${SENSOR_PROXY_HOST_STATE:-}" ] && [ -z "$workfolder" ]; then
        error "--work-folder is required for a host step."
        exit 1
    fi
    state_dir=${SENSOR_PROXY_HOST_STATE:-$workfolder/../host-state}
    offline=
    mkdir -p "$state_dir" || exit 1
fi
state_file=$state_dir/installed-criteria

role=
[ -n "$pre_sim" ] && role=pre-install
[ -n "$post_sim" ] && role=post-install

# True when $1 is a whole line of the state file.
has_line() { [ -f "$state_file" ] && grep -qxF -- "$1" "$state_file"; }

component_unavailable() {
    result 0 $((0x300001F6)) "Cannot communicate with the specified component. Name:$component_name, Id:$component_id"
    exit 0
}

record() { printf '%s\n' "$1" >> "$state_file" || exit 1; }

case "$action" in
    is-installed)
        [ -n "$offline" ] && component_unavailable
        if [ -z "$installed_criteria" ]; then
            result 0 $((0x30500002)) "Invalid installedCriteria value."
        elif has_line "$installed_criteria" || { [ -n "$role" ] && has_line "$role:$installed_criteria"; }; then
            result 900 0 ""
        else
            result 901 0 "installedCriteria not met: $installed_criteria"
        fi
        exit 0 ;;
    cancel)
        result 800 0 "cancelled"
        exit 0 ;;
esac

if [ -n "$role" ] && [ -n "$action" ]; then
    [ -n "$offline" ] && component_unavailable
    echo "Simulating $role step success."
    # Recorded by install/apply only: a record at download time would skip the step at install.
    case "$action" in install | apply) [ -n "$installed_criteria" ] && record "$role:$installed_criteria" ;; esac
    result 700 0 ""
    exit 0
fi

case "$action" in
    download)
        result 502 0 "" ;;
    install)
        [ -n "$offline" ] && component_unavailable
        if [ -z "$installed_criteria" ]; then
            error "Script call missing '--installed-criteria' argument."
            result 0 $((0x30500002)) "Script call missing '--installed-criteria' argument."
        elif has_line "$installed_criteria"; then
            echo "It appears that this component already installed the specified update."
            result 603 0 ""
        else
            if [ -n "$firmware_file" ]; then
                echo "Installing... (workfolder:$workfolder, firmware:$firmware_file)"
                cp -f "$workfolder/$firmware_file" "$state_dir/firmware.json"
                copy_ret=$?
                if [ $copy_ret -ne 0 ]; then
                    error "Cannot install a firmware to: '$state_dir'. (exitCode:$copy_ret)"
                    result 0 $((0x30501000 + copy_ret)) "Firmware installation failed. ComponentId: $component_id"
                    exit 0
                fi
            fi
            record "$installed_criteria"
            result 600 0 ""
        fi ;;
    apply)
        if [ -n "$restart_to_apply" ]; then result 705 0 ""
        elif [ -n "$restart_agent_to_apply" ]; then result 707 0 ""
        else result 700 0 ""; fi ;;
    *)
        # The demo exits 0 without a result file here; the handler reports 0x30500205.
        error "no action given (--action-is-installed, --action-download, --action-install, --action-apply, --action-cancel)" ;;
esac
exit 0
