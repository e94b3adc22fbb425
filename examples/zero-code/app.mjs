// The seed's Express hello world, unchanged: no clusterbus code. `clusterbus start` runs it on
// every core, counts a worker ready once it listens, and drains it on reload and stop.
import express from 'express';

const app = express();
app.get('/', (_req, res) => res.send(`Hello World! (pid ${process.pid})\n`));
app.get('/hello{/:name}', (req, res) =>
  res.send(`Hello ${req.params.name ?? 'World'}! (pid ${process.pid})\n`),
);

const port = Number(process.env.PORT ?? 3000);
app.listen(port, () => console.log(`listening on http://localhost:${port}`));
