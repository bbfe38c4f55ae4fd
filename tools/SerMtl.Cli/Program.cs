using SerMtl.Cli;

return Sermtl.Run(args);
