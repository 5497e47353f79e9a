
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'llmlb-node' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'llmlb-node'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'llmlb-node' {
            [CompletionResult]::new('--lb-url', '--lb-url', [CompletionResultType]::ParameterName, 'URL of the llmlb daemon')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--lb-fingerprint', '--lb-fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it with the command line to use), whoever issued it. A certificate that does not match stops the agent before anything is sent')
            [CompletionResult]::new('--runtime-url', '--runtime-url', [CompletionResultType]::ParameterName, 'URL of the local OpenAI-compatible inference server (llama.cpp server, vLLM, Ollama) the daemon sends requests to')
            [CompletionResult]::new('--advertise-ip', '--advertise-ip', [CompletionResultType]::ParameterName, 'Address the daemon reaches this machine at [default: the local address that routes to the daemon]')
            [CompletionResult]::new('--node-api-port', '--node-api-port', [CompletionResultType]::ParameterName, 'Port the daemon probes for /v1/models [default: the runtime''s port]')
            [CompletionResult]::new('--machine-name', '--machine-name', [CompletionResultType]::ParameterName, 'Name of this machine [default: the host name]')
            [CompletionResult]::new('--runtime-version', '--runtime-version', [CompletionResultType]::ParameterName, 'Version of the inference server, as shown to administrators')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the node id and its token are kept [default: $STATE_DIRECTORY under systemd, else $XDG_STATE_HOME/llmlb-node or ~/.local/state/llmlb-node]')
            [CompletionResult]::new('--gpu', '--gpu', [CompletionResultType]::ParameterName, 'Declare GPUs NVML cannot see, as MODEL:COUNT[:MEMORY] (memory per device, e.g. 80GiB, 24GB or bytes). Repeat for several models')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Tags sent at registration; repeat for several')
            [CompletionResult]::new('--join-token', '--join-token', [CompletionResultType]::ParameterName, 'A join token from an administrator (llmlbctl join-tokens create), sent when registering; needed when the daemon runs with --registration join-token. Prefer --join-token-file: a flag''s value is visible to other users in the process list')
            [CompletionResult]::new('--join-token-file', '--join-token-file', [CompletionResultType]::ParameterName, 'Read the join token from this file (its first line)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--detect', '--detect', [CompletionResultType]::ParameterName, 'Print the GPUs found (NVML and --gpu) as JSON and exit')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
