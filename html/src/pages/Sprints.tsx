export default function Sprints() {
  return <div className="page"><h1>Sprints</h1></div>;
}
