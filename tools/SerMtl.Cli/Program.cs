using SerMtl.Cli;

return CliHost.Run(args);
